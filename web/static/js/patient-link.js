// @ts-check
// The clinician's control of the patient's link on the call page: a new link (the old one
// stops working, and so does the session opened with it) or withdrawing it. Each asks first;
// the new link is shown once, with a Copy button.

import { announce, formatDateTime } from "./a11y.js";
import { api } from "./api.js";
import { confirmWith } from "./call-ui.js";
import { $ } from "./dom.js";

/** @param {string} visitId */
export function mountPatientLink(visitId) {
  const path = `/api/visits/${encodeURIComponent(visitId)}/invite`;

  /** @param {string} id */
  const dialog = (id) => /** @type {HTMLDialogElement} */ ($(id));

  async function newLink() {
    if (!(await confirmWith(dialog("new-link-dialog")))) return;
    try {
      const issued = await api(path, { method: "POST" });
      /** @type {HTMLInputElement} */ ($("new-link-url")).value = issued.invite_url;
      $("new-link-expiry").textContent =
        `Send it to the patient; it is shown only once. It works until ${
          formatDateTime(issued.invite_expires_at)}.`;
      $("new-link-result").hidden = false;
      $("new-link-url").focus();
      announce("A new patient link was made; the old one no longer works.");
    } catch (failure) {
      announce(`No new link was made: ${/** @type {Error} */ (failure).message}`);
    }
  }

  async function withdraw() {
    if (!(await confirmWith(dialog("withdraw-dialog")))) return;
    try {
      await api(path, { method: "DELETE" });
      $("new-link-result").hidden = true;
      /** @type {HTMLInputElement} */ ($("new-link-url")).value = "";
      announce("The patient's link was withdrawn; their session has ended.");
    } catch (failure) {
      announce(`The link was not withdrawn: ${/** @type {Error} */ (failure).message}`);
    }
  }

  async function copy() {
    const input = /** @type {HTMLInputElement} */ ($("new-link-url"));
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

  $("new-link").addEventListener("click", newLink);
  $("withdraw-link").addEventListener("click", withdraw);
  $("copy-new-link").addEventListener("click", copy);
}
