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
