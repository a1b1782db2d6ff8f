// @ts-check
// Shown when the server answered `password_change_required`: the account signed in with a
// temporary password an admin set, and must choose its own before anything else.

import { showView } from "./a11y.js";
import { ApiError, api } from "./api.js";
import { $ } from "./dom.js";

/** @type {{ next: (answer: any) => void, restart: (message: string) => void } | null} */
let steps = null;

export function showNewPasswordStep() {
  if (!document.getElementById("new-password-form")) {
    const template = /** @type {HTMLTemplateElement} */ ($("new-password-template"));
    template.after(template.content.cloneNode(true));
    $("new-password-form").addEventListener("submit", submit);
  }
  $("new-password-error").textContent = "";
  showView("new-password", { heading: "Choose your password", focus: false });
  $("new-password").focus();
}

/**
 * @param {{ next: (answer: any) => void, restart: (message: string) => void }} given
 *   `next` takes the server's answer (signed in, or the second factor next); `restart`
 *   goes back to the sign-in form when this half-signed-in session has ended.
 */
export function mountNewPasswordStep(given) {
  steps = given;
}

/** @param {SubmitEvent} event */
async function submit(event) {
  event.preventDefault();
  if (steps === null) return;
  const { next, restart } = steps;
  const input = /** @type {HTMLInputElement} */ ($("new-password"));
  const error = $("new-password-error");
  if (!input.value) {
    error.textContent = "Enter a new password.";
    input.focus();
    return;
  }
  try {
    const answer = await api("/api/auth/password", {
      method: "POST",
      body: { new_password: input.value },
    });
    input.value = "";
    next(answer);
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 401) {
      restart("Signing in took too long. Please sign in again.");
      return;
    }
    error.textContent = failure instanceof ApiError ? failure.message : String(failure);
    input.focus();
  }
}
