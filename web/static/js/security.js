// @ts-check
// The account security page: set up an authenticator app (QR code drawn by the server, the
// key as text, a first code to confirm) and show the recovery codes, once.
//
// It also serves a sign-in that must set up a second factor first (the session may then
// only reach this page's API calls): confirming the code completes that sign-in.

import { announce, showView } from "./a11y.js";
import { ApiError, api } from "./api.js";
import { $, make } from "./dom.js";
import { addPasskey, passkeysSupported } from "./passkey.js";
import { mountSignOut, showSignedIn } from "./staff-header.js";

const QR_LABEL = "QR code of the key for your authenticator app";

/** @type {boolean} whether this session is only allowed to set up the second factor */
let enrolling = false;

/**
 * @param {{ totp: boolean, recovery_codes_left: number, passkeys: number,
 *   enrollment_required: boolean }} factor
 */
function showOverview(factor, { focus = true } = {}) {
  enrolling = factor.enrollment_required;
  $("enrollment-required").hidden = !enrolling;
  $("totp-state").textContent = factor.totp
    ? "An authenticator app is set up: signing in asks for its code after your password."
    : "No authenticator app is set up yet.";
  const left = $("recovery-left");
  left.hidden = !factor.totp;
  left.textContent = `Recovery codes left: ${factor.recovery_codes_left} of 10.`;
  $("start-totp").hidden = factor.totp;
  $("start-error").textContent = "";
  // A passkey is added once signed in (the setup that finishes a sign-in is the app).
  $("passkey-panel").hidden = enrolling || !passkeysSupported();
  $("passkey-count").textContent =
    factor.passkeys === 1 ? "1 passkey is set up." : `${factor.passkeys} passkeys are set up.`;
  $("passkey-error").textContent = "";
  showView("overview", { heading: "Account security", focus });
}

/**
 * Put the server's SVG QR code in the page as a node (parsed as SVG, never as HTML), with
 * an accessible name.
 * @param {string} svgText
 */
function showQrCode(svgText) {
  const parsed = new DOMParser().parseFromString(svgText, "image/svg+xml");
  const svg = parsed.documentElement;
  const figure = $("qr-code");
  figure.replaceChildren();
  if (svg.nodeName !== "svg") return; // a parse error: the key as text still works
  const title = svg.querySelector("title");
  if (title) title.textContent = QR_LABEL;
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", QR_LABEL);
  figure.append(document.importNode(svg, true));
}

async function startSetup() {
  try {
    const setup = await api("/api/auth/mfa/totp", { method: "POST" });
    showQrCode(setup.qr_svg);
    $("totp-key").textContent = setup.secret.replace(/(.{4})/g, "$1 ").trim();
    /** @type {HTMLInputElement} */ ($("confirm-code")).value = "";
    $("confirm-error").textContent = "";
    showView("setup", { heading: "Account security", focus: false });
    $("confirm-code").focus();
  } catch (failure) {
    $("start-error").textContent = `Could not start the setup: ${failure.message}`;
  }
}

/** @param {SubmitEvent} event */
async function confirmSetup(event) {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($("confirm-code"));
  const code = input.value.trim();
  const error = $("confirm-error");
  if (!code) {
    error.textContent = "Enter the 6-digit code from your authenticator app.";
    input.focus();
    return;
  }
  try {
    const done = await api("/api/auth/mfa/totp/confirm", { method: "POST", body: { code } });
    input.value = "";
    $("qr-code").replaceChildren();
    $("totp-key").textContent = "";
    if (done.signed_in) showSignedIn(done.signed_in);
    const list = $("recovery-codes");
    list.replaceChildren(...done.recovery_codes.map((text) => make("li", { text })));
    showView("codes", { heading: "Account security" });
    announce("The authenticator app is set up. Save your recovery codes now.");
  } catch (failure) {
    error.textContent =
      failure instanceof ApiError && failure.status === 400
        ? "That code is not right. Check the app and enter the code it shows now."
        : failure.message;
    input.select();
    input.focus();
  }
}

async function newPasskey() {
  $("passkey-error").textContent = "";
  try {
    await addPasskey();
  } catch (failure) {
    $("passkey-error").textContent = `The passkey was not added: ${failure.message}`;
    return;
  }
  showOverview(await api("/api/auth/mfa"), { focus: false });
  announce("The passkey is added. Signing in can now use it instead of a code.");
}

async function codesSaved() {
  $("recovery-codes").replaceChildren();
  if (enrolling) {
    window.location.assign("/clinician"); // the sign-in is complete now
    return;
  }
  await load();
}

async function load() {
  try {
    showOverview(await api("/api/auth/mfa"));
  } catch {
    showView("signed-out", { heading: "Account security", focus: false });
    return;
  }
  if (!enrolling) {
    try {
      showSignedIn(await api("/api/auth/me"));
    } catch {
      /* the overview still works; the header just does not name anyone */
    }
  } else {
    $("sign-out").hidden = false;
  }
}

function start() {
  $("start-totp").addEventListener("click", startSetup);
  $("confirm-form").addEventListener("submit", confirmSetup);
  $("codes-saved").addEventListener("click", codesSaved);
  $("add-passkey").addEventListener("click", newPasskey);
  mountSignOut(() => {
    showView("signed-out", { heading: "Account security" });
    announce("You are signed out.");
  });
  load();
}

start();
