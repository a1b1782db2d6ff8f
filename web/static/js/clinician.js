// The clinician's page: sign in, today's visits (refreshed every 5 s, announcing newly
// waiting patients and new urgent intake flags; urgent visits first), each visit's intake
// summary and transcript review, scheduling a visit with its invite link, and signing out.

import { announce, formatDateTime, formatTime, showView } from "./a11y.js";
import { ApiError, api } from "./api.js";
import { openIntakeSummary } from "./intake-summary.js";
import { $ } from "./dom.js";
import { hideSignedIn, mountSignOut, showSignedIn } from "./staff-header.js";
import { statusLabel } from "./visit-status.js";

const REFRESH_MS = 5000;
const OPEN_STATUSES = new Set(["scheduled", "waiting", "in_call"]);

const INTAKE_LABELS = {
  "in-progress": "Intake: in progress",
  completed: "Intake: done",
};
const NO_INTAKE = { urgent: false, flags: [], status: null };


let refreshTimer = null;
let knownStatuses = null; // visit id -> status, null until the first load
let knownFlags = null; // "visit id/flag id" already announced, null until the first load

function labelOf(visit) {
  return visit.patient_label || "Unnamed patient";
}

// --- signing in and out ------------------------------------------------------------------

function showSignIn(message = "") {
  stopRefresh();
  knownStatuses = null;
  knownFlags = null;
  hideSignedIn();
  $("sign-in-error").textContent = message;
  showView("sign-in", { heading: "Clinician sign in", focus: false });
  $("email").focus();
}

function showDashboard(me) {
  showSignedIn(me);
  showView("dashboard", { heading: "Today's visits" });
  resetScheduleForm();
  refreshVisits();
}

async function signIn(event) {
  event.preventDefault();
  const email = $("email").value.trim();
  const password = $("password").value;
  const error = $("sign-in-error");
  if (!email || !password) {
    error.textContent = "Enter your email and password.";
    (email ? $("password") : $("email")).focus();
    return;
  }
  error.textContent = "";
  try {
    const me = await api("/api/auth/login", { method: "POST", body: { email, password } });
    $("password").value = "";
    showDashboard(me);
    announce(`Signed in as ${me.display_name}.`);
  } catch (failure) {
    error.textContent =
      failure instanceof ApiError && failure.status === 401
        ? "The email or password is wrong."
        : failure.message;
    $("password").focus();
  }
}

// --- the visit list --------------------------------------------------------------------

function stopRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = null;
}

async function refreshVisits() {
  stopRefresh();
  try {
    const [data, flags] = await Promise.all([
      api("/api/visits?range=today"),
      api("/api/intake/flags?range=today"),
    ]);
    renderVisits(data.visits, flags || {});
    $("visits-error").textContent = "";
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 401) {
      showSignIn("Your session has ended. Please sign in again.");
      return;
    }
    $("visits-error").textContent = `Could not refresh the visits: ${failure.message}`;
  }
  refreshTimer = setTimeout(refreshVisits, REFRESH_MS);
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
function renderVisits(visits, intakes) {
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
  if (labelCell.textContent !== labelOf(visit)) labelCell.textContent = labelOf(visit);
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

function withPatient(control, visit, time) {
  const detail = document.createElement("span");
  detail.className = "visually-hidden";
  detail.textContent = ` of ${labelOf(visit)} at ${time}`;
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

function reviewLink(visit, time) {
  const link = document.createElement("a");
  link.className = "button-link";
  link.href = `/clinician/review?visit=${encodeURIComponent(visit.id)}`;
  link.append("Review transcript");
  return withPatient(link, visit, time);
}

function joinLink(visit, time) {
  const link = document.createElement("a");
  link.className = "button-link";
  link.href = `/clinician/call?visit=${encodeURIComponent(visit.id)}`;
  link.append("Join visit");
  const detail = document.createElement("span");
  detail.className = "visually-hidden";
  detail.textContent = ` with ${labelOf(visit)} at ${time}`;
  link.append(detail);
  return link;
}

// --- scheduling ------------------------------------------------------------------------

function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

function resetScheduleForm() {
  // Default to the next quarter hour, which is what a clinician usually wants.
  const next = new Date(Date.now() + 60000);
  next.setMinutes(Math.ceil(next.getMinutes() / 15) * 15, 0, 0);
  $("scheduled-at").value = localInputValue(next);
  $("patient-label").value = "";
  $("schedule-error").textContent = "";
}

async function schedule(event) {
  event.preventDefault();
  const error = $("schedule-error");
  const when = $("scheduled-at").value;
  const date = when ? new Date(when) : null;
  if (!date || Number.isNaN(date.getTime())) {
    error.textContent = "Enter the date and time of the visit.";
    $("scheduled-at").focus();
    return;
  }
  error.textContent = "";
  try {
    const created = await api("/api/visits", {
      method: "POST",
      body: { scheduled_at: date.toISOString(), patient_label: $("patient-label").value.trim() },
    });
    showInvite(created);
    resetScheduleForm();
    refreshVisits();
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 401) {
      showSignIn("Your session has ended. Please sign in again.");
      return;
    }
    error.textContent = `The visit was not scheduled: ${failure.message}`;
  }
}

function showInvite(created) {
  const { visit } = created;
  $("invite-summary").textContent =
    `${labelOf(visit)}, ${formatDateTime(visit.scheduled_at)}. ` +
    "Send this link to the patient; it is shown only once.";
  $("invite-link").value = created.invite_url;
  $("invite-expiry").textContent =
    `The link works until ${formatDateTime(created.invite_expires_at)}.`;
  $("invite-result").hidden = false;
  $("invite-heading").focus();
}

async function copyInvite() {
  const input = $("invite-link");
  try {
    await navigator.clipboard.writeText(input.value);
    announce("Invite link copied.");
  } catch {
    // No clipboard permission: select the text so Ctrl+C copies it.
    input.focus();
    input.select();
    announce("Could not copy automatically. The link is selected: press Control+C to copy.");
  }
}

// --- start -----------------------------------------------------------------------------

async function start() {
  $("sign-in-form").addEventListener("submit", signIn);
  mountSignOut(() => {
    showSignIn();
    announce("You are signed out.");
  });
  $("schedule-form").addEventListener("submit", schedule);
  $("copy-invite").addEventListener("click", copyInvite);
  try {
    showDashboard(await api("/api/auth/me"));
  } catch {
    showSignIn();
  }
}

start();
