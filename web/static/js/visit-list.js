// The list of today's visits on the clinician's page: one table row per visit, updated in
// place (urgent visits first), and one announcement per refresh of newly waiting patients and
// new urgent intake flags.

import { announce, formatTime } from "./a11y.js";
import { $ } from "./dom.js";
import { openIntakeSummary } from "./intake-summary.js";
import { patientLabel as labelOf, statusLabel, typedNameNote } from "./visit-status.js";

const OPEN_STATUSES = new Set(["scheduled", "waiting", "in_call"]);
const INTAKE_LABELS = {
  "in-progress": "Intake: in progress",
  completed: "Intake: done",
};
const NO_INTAKE = { urgent: false, flags: [], status: null };

let knownStatuses = null; // visit id -> status, null until the first load
let knownFlags = null; // "visit id/flag id" already announced, null until the first load

/** Forget what was announced (signed out): the next list is a first load again. */
export function forgetAnnounced() {
  knownStatuses = null;
  knownFlags = null;
}

function newlyWaitingMessage(visits) {
  const first = knownStatuses === null;
  const waiting = visits.filter(
    (v) => v.status === "waiting" && (first || knownStatuses.get(v.id) !== "waiting"),
  );
  knownStatuses = new Map(visits.map((v) => [v.id, v.status]));
  if (waiting.length === 1) return `${labelOf(waiting[0])} is waiting.`;
  if (waiting.length > 1) return `${waiting.length} patients are waiting.`;
  return "";
}

// Each flag is announced once per page load: the ids already told are remembered.
function newFlagsMessage(visits, intakes) {
  const told = knownFlags || new Set();
  const messages = [];
  for (const visit of visits) {
    const fresh = (intakes[visit.id] || NO_INTAKE).flags.filter(
      (flag) => !told.has(`${visit.id}/${flag.id}`),
    );
    for (const flag of fresh) told.add(`${visit.id}/${flag.id}`);
    if (fresh.length) {
      messages.push(`Urgent intake for ${labelOf(visit)}: ${fresh.map((f) => f.title).join("; ")}.`);
    }
  }
  knownFlags = told;
  return messages.join(" ");
}

function urgentFirst(intakes) {
  const urgent = (visit) => ((intakes[visit.id] || NO_INTAKE).urgent ? 0 : 1);
  return (a, b) => urgent(a) - urgent(b) || a.scheduled_at.localeCompare(b.scheduled_at);
}

// Rows are updated in place, keyed by visit id, so focus on a row's link survives.
/** Show `visits` with their `intakes` ({visit id: intake state}) in #visits-body. */
export function renderVisits(visits, intakes) {
  const body = $("visits-body");
  const sorted = [...visits].sort(urgentFirst(intakes));
  const seen = new Set();
  let previous = null;
  for (const visit of sorted) {
    seen.add(visit.id);
    let row = body.querySelector(`tr[data-visit-id="${CSS.escape(visit.id)}"]`);
    if (!row) row = createRow(visit);
    updateRow(row, visit, intakes[visit.id] || NO_INTAKE);
    const expected = previous ? previous.nextElementSibling : body.firstElementChild;
    if (expected !== row) body.insertBefore(row, expected);
    previous = row;
  }
  for (const row of [...body.rows]) {
    if (!seen.has(row.dataset.visitId)) row.remove();
  }
  $("no-visits").hidden = sorted.length > 0;
  $("visits-table").hidden = sorted.length === 0;
  // One announcement: two quick ones would replace each other in the status region.
  const message = [newFlagsMessage(visits, intakes), newlyWaitingMessage(visits)]
    .filter(Boolean)
    .join(" ");
  if (message) announce(message);
}

function createRow(visit) {
  const row = document.createElement("tr");
  row.dataset.visitId = visit.id;
  for (let i = 0; i < 5; i += 1) row.append(document.createElement(i === 1 ? "th" : "td"));
  row.cells[1].scope = "row";
  return row;
}

function updateRow(row, visit, intake) {
  const [timeCell, labelCell, statusCell, intakeCell, actionCell] = row.cells;
  const time = formatTime(visit.scheduled_at);
  if (timeCell.textContent !== time) timeCell.textContent = time;
  // The scheduled label, and beside it the name the patient typed (which may differ).
  const note = typedNameNote(visit);
  const labelKey = JSON.stringify([labelOf(visit), note]);
  if (labelCell.dataset.label !== labelKey) {
    labelCell.dataset.label = labelKey;
    const parts = [labelOf(visit)];
    if (note) {
      const typed = document.createElement("span");
      typed.className = "typed-name";
      typed.textContent = note;
      parts.push(document.createElement("br"), typed);
    }
    labelCell.replaceChildren(...parts);
  }
  row.classList.toggle("is-waiting", visit.status === "waiting");
  if (row.dataset.status !== visit.status) {
    row.dataset.status = visit.status;
    const badge = document.createElement("span");
    badge.className = `badge ${visit.status}`;
    badge.textContent = statusLabel(visit.status);
    statusCell.replaceChildren(badge);
  }
  row.classList.toggle("is-urgent", intake.urgent);
  const intakeKey = JSON.stringify([intake.status, intake.flags.map((f) => f.title)]);
  if (row.dataset.intake !== intakeKey) {
    row.dataset.intake = intakeKey;
    intakeCell.replaceChildren(...intakeState(intake));
  }
  // Rebuilt only when the set of actions changes, so a focused control survives refreshes.
  const open = OPEN_STATUSES.has(visit.status);
  const actions = JSON.stringify([open, intake.status !== null, visit.status === "ended"]);
  if (row.dataset.actions !== actions) {
    row.dataset.actions = actions;
    const controls = [];
    if (open) controls.push(joinLink(visit, time));
    if (intake.status !== null) controls.push(readIntakeButton(visit, time));
    if (visit.status === "ended") controls.push(reviewLink(visit, time));
    const group = document.createElement("div");
    group.className = "row-actions";
    group.append(...controls);
    actionCell.replaceChildren(controls.length ? group : "");
  }
}

// The urgent badge says "Urgent" and the flag titles in words: colour is only an extra cue.
function intakeState(intake) {
  const state = document.createElement("span");
  state.className = "intake-state";
  state.textContent = INTAKE_LABELS[intake.status] || "Intake: not started";
  if (!intake.urgent) return [state];
  const badge = document.createElement("p");
  badge.className = "urgent-badge";
  const word = document.createElement("strong");
  word.textContent = "Urgent";
  badge.append(word, `: ${intake.flags.map((f) => f.title).join("; ")}`);
  return [badge, state];
}

// The visible words name the action; the hidden rest names the visit, so each control's
// accessible name starts with its label and still tells the rows apart.
function withPatient(control, visit, time, preposition = "of") {
  const detail = document.createElement("span");
  detail.className = "visually-hidden";
  detail.textContent = ` ${preposition} ${labelOf(visit)} at ${time}`;
  control.append(detail);
  return control;
}

function readIntakeButton(visit, time) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  button.append("Read intake");
  button.addEventListener("click", () =>
    openIntakeSummary(visit.id, { label: labelOf(visit), opener: button }),
  );
  return withPatient(button, visit, time);
}

function visitLink(path, visit, text) {
  const link = document.createElement("a");
  link.className = "button-link";
  link.href = `${path}?visit=${encodeURIComponent(visit.id)}`;
  link.append(text);
  return link;
}

function reviewLink(visit, time) {
  return withPatient(visitLink("/clinician/review", visit, "Review transcript"), visit, time);
}

function joinLink(visit, time) {
  return withPatient(visitLink("/clinician/call", visit, "Join visit"), visit, time, "with");
}
