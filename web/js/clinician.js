// The clinician's page: sign in, today's visits (refreshed every 5 s, announcing newly
// waiting patients), scheduling a visit with its invite link, and signing out.

import { announce, formatDateTime, formatTime, initDisplaySettings, showView } from "./a11y.js";
import { ApiError, api } from "./api.js";

const REFRESH_MS = 5000;
const OPEN_STATUSES = new Set(["scheduled", "waiting", "in_call"]);
const STATUS_LABELS = {
  scheduled: "Scheduled",
  waiting: "Waiting",
  in_call: "In call",
  ended: "Ended",
  cancelled: "Cancelled",
};

const $ = (id) => document.getElementById(id);

let refreshTimer = null;
let knownStatuses = null; // visit id -> status, null until the first load

function labelOf(visit) {
  return visit.patient_label || "Unnamed patient";
}

// --- signing in and out ------------------------------------------------------------------

function showSignIn(message = "") {
  stopRefresh();
  knownStatuses = null;
  $("signed-in-as").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in-error").textContent = message;
  showView("sign-in", { heading: "Clinician sign in", focus: false });
  $("email").focus();
}

function showDashboard(me) {
  $("signed-in-as").textContent = `Signed in as ${me.display_name}`;
  $("signed-in-as").hidden = false;
  $("sign-out").hidden = false;
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

async function signOut() {
  try {
    await api("/api/auth/logout", { method: "POST" });
  } catch {
    /* the session is gone either way from this page's point of view */
  }
  showSignIn();
  announce("You are signed out.");
}

// --- the visit list --------------------------------------------------------------------

function stopRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = null;
}

async function refreshVisits() {
  stopRefresh();
  try {
    const data = await api("/api/visits?range=today");
    renderVisits(data.visits);
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

function announceNewlyWaiting(visits) {
  const first = knownStatuses === null;
  const waiting = visits.filter(
    (v) => v.status === "waiting" && (first || knownStatuses.get(v.id) !== "waiting"),
  );
  knownStatuses = new Map(visits.map((v) => [v.id, v.status]));
  if (waiting.length === 1) announce(`${labelOf(waiting[0])} is waiting.`);
  else if (waiting.length > 1) announce(`${waiting.length} patients are waiting.`);
}

// Rows are updated in place, keyed by visit id, so focus on a row's link survives.
function renderVisits(visits) {
  const body = $("visits-body");
  const sorted = [...visits].sort((a, b) => a.scheduled_at.localeCompare(b.scheduled_at));
  const seen = new Set();
  let previous = null;
  for (const visit of sorted) {
    seen.add(visit.id);
    let row = body.querySelector(`tr[data-visit-id="${CSS.escape(visit.id)}"]`);
    if (!row) row = createRow(visit);
    updateRow(row, visit);
    const expected = previous ? previous.nextElementSibling : body.firstElementChild;
    if (expected !== row) body.insertBefore(row, expected);
    previous = row;
  }
  for (const row of [...body.rows]) {
    if (!seen.has(row.dataset.visitId)) row.remove();
  }
  $("no-visits").hidden = sorted.length > 0;
  $("visits-table").hidden = sorted.length === 0;
  announceNewlyWaiting(visits);
}

function createRow(visit) {
  const row = document.createElement("tr");
  row.dataset.visitId = visit.id;
  for (let i = 0; i < 4; i += 1) row.append(document.createElement(i === 1 ? "th" : "td"));
  row.cells[1].scope = "row";
  return row;
}

function updateRow(row, visit) {
  const [timeCell, labelCell, statusCell, actionCell] = row.cells;
  const time = formatTime(visit.scheduled_at);
  if (timeCell.textContent !== time) timeCell.textContent = time;
  if (labelCell.textContent !== labelOf(visit)) labelCell.textContent = labelOf(visit);
  row.classList.toggle("is-waiting", visit.status === "waiting");
  if (row.dataset.status !== visit.status) {
    row.dataset.status = visit.status;
    const badge = document.createElement("span");
    badge.className = `badge ${visit.status}`;
    badge.textContent = STATUS_LABELS[visit.status] || visit.status;
    statusCell.replaceChildren(badge);
  }
  const open = OPEN_STATUSES.has(visit.status);
  if (row.dataset.open !== String(open)) {
    row.dataset.open = String(open);
    actionCell.replaceChildren(open ? joinLink(visit, time) : "");
  }
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
  initDisplaySettings();
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("schedule-form").addEventListener("submit", schedule);
  $("copy-invite").addEventListener("click", copyInvite);
  try {
    showDashboard(await api("/api/auth/me"));
  } catch {
    showSignIn();
  }
}

start();
