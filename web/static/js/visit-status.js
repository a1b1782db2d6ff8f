// @ts-check
// A visit's lifecycle status (telehealth/visits/lifecycle.py) in words, for the staff pages.

/** @type {Readonly<Record<string, string>>} */
export const STATUS_LABELS = Object.freeze({
  scheduled: "Scheduled",
  waiting: "Waiting",
  in_call: "In call",
  ended: "Ended",
  cancelled: "Cancelled",
});

/**
 * The label of `status`, or the status itself if it is new to this page.
 * @param {string} status
 */
export function statusLabel(status) {
  return STATUS_LABELS[status] || status;
}

/**
 * How the staff pages name a visit's patient (the label is optional when scheduling).
 * @param {{ patient_label?: string | null }} visit
 */
export function patientLabel(visit) {
  return visit.patient_label || "Unnamed patient";
}

/**
 * What the patient typed as their name when they opened the link, said as theirs, to show
 * beside the label the clinic scheduled ("" until they open it).
 * @param {{ patient_name?: string | null, patient_rejoined?: boolean }} visit
 */
export function typedNameNote(visit) {
  if (!visit.patient_name) return "";
  const rejoined = visit.patient_rejoined ? "; rejoined from a new device" : "";
  return `Patient gave the name: ${visit.patient_name}${rejoined}`;
}
