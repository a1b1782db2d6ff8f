// @ts-check
// The second step of staff sign-in: a code from the authenticator app, or a recovery code.
// Shown when the password was right and the server answered `mfa_required`.

import { showView } from "./a11y.js";
import { ApiError, api } from "./api.js";
import { $ } from "./dom.js";
import { passkeysSupported, signInWithPasskey } from "./passkey.js";

const MODES = {
  app: {
    label: "Authentication code",
    hint: "Enter the 6-digit code your authenticator app shows for Telehealth.",
    inputmode: "numeric",
    autocomplete: "one-time-code",
    switchLabel: "Use a recovery code instead",
    missing: "Enter the code from your authenticator app.",
  },
  recovery: {
    label: "Recovery code",
    hint: "Enter one of the recovery codes you saved when you set up the app. Each works once.",
    inputmode: "text",
    autocomplete: "off",
    switchLabel: "Use the authenticator app instead",
    missing: "Enter one of your recovery codes.",
  },
};

/** @type {"app" | "recovery"} */
let mode = "app";

function applyMode() {
  const texts = MODES[mode];
  const input = /** @type {HTMLInputElement} */ ($("code"));
  $("code-label").textContent = texts.label;
  $("code-hint").textContent = texts.hint;
  input.setAttribute("inputmode", texts.inputmode);
  input.setAttribute("autocomplete", texts.autocomplete);
  $("switch-code-kind").textContent = texts.switchLabel;
}

/**
 * Ask for the second factor (the password step was right); `methods` are the account's
 * ("totp", "passkey"): the passkey button is offered only to an account with one.
 * @param {string[]} methods
 */
export function showCodeStep(methods) {
  mode = "app";
  applyMode();
  /** @type {HTMLInputElement} */ ($("code")).value = "";
  $("code-error").textContent = "";
  $("use-passkey").hidden = !(methods.includes("passkey") && passkeysSupported());
  showView("second-factor", { heading: "Enter your authentication code", focus: false });
  $("code").focus();
}

/**
 * Wire the code form; `signedIn(me)` runs once a code completes the sign-in, `restart()`
 * when the half-finished sign-in has ended and the password is needed again.
 * @param {{ signedIn: (me: any) => void, restart: (message: string) => void }} hooks
 */
export function mountCodeStep({ signedIn, restart }) {
  $("switch-code-kind").addEventListener("click", () => {
    mode = mode === "app" ? "recovery" : "app";
    applyMode();
    $("code-error").textContent = "";
    $("code").focus();
  });
  $("use-passkey").addEventListener("click", async () => {
    $("code-error").textContent = "";
    try {
      signedIn(await signInWithPasskey());
    } catch (failure) {
      $("code-error").textContent = `The passkey did not sign you in: ${failure.message}`;
      $("use-passkey").focus();
    }
  });
  $("code-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($("code"));
    const code = input.value.trim();
    const error = $("code-error");
    if (!code) {
      error.textContent = MODES[mode].missing;
      input.focus();
      return;
    }
    error.textContent = "";
    try {
      const me = await api("/api/auth/mfa/verify", { method: "POST", body: { code } });
      input.value = "";
      signedIn(me);
    } catch (failure) {
      // A 401 that asks to sign in means the half-finished sign-in itself has ended (it
      // lasts minutes); any other 401 is a wrong code.
      const ended = /sign in/.test(failure.message);
      if (failure instanceof ApiError && failure.status === 401 && ended) {
        restart("Your sign-in took too long. Please enter your password again.");
        return;
      }
      error.textContent =
        failure instanceof ApiError && failure.status === 401
          ? "That code is not right, or was used already. Try again."
          : failure.message;
      input.select();
      input.focus();
    }
  });
}
