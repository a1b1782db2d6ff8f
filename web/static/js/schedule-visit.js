// Scheduling a visit on the clinician's page: the form (defaulting to the next quarter
// hour) and the invite link it gives, shown once, with a Copy button.

import { announce, formatDateTime } from "./a11y.js";
import { ApiError, api } from "./api.js";
import { $ } from "./dom.js";
import { patientLabel as labelOf } from "./visit-status.js";

/**
 * Wire the schedule form. `onScheduled()` runs after a visit was made (refresh the list),
 * `onSignedOut()` when the session had ended. Returns `reset()`, which empties the form.
 */
export function mountScheduling({ onScheduled, onSignedOut }) {
  $("schedule-form").addEventListener("submit", (event) =>
    schedule(event, { onScheduled, onSignedOut }),
  );
  $("copy-invite").addEventListener("click", copyInvite);
  return { reset: resetScheduleForm };
}

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

async function schedule(event, { onScheduled, onSignedOut }) {
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
    onScheduled();
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 401) {
      onSignedOut();
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
