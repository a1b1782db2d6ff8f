// The clinician's page: sign in, today's visits (refreshed every 5 s, announcing newly
// waiting patients and new urgent intake flags; urgent visits first), each visit's intake
// summary and transcript review, scheduling a visit with its invite link, and signing out.

import { announce, showView } from "./a11y.js";
import { ApiError, api } from "./api.js";
import { $ } from "./dom.js";
import { mountScheduling } from "./schedule-visit.js";
import { mountNewPasswordStep, showNewPasswordStep } from "./new-password.js";
import { mountCodeStep, showCodeStep } from "./sign-in-code.js";
import { hideSignedIn, mountSignOut, showSignedIn } from "./staff-header.js";
import { forgetAnnounced, renderVisits } from "./visit-list.js";

const REFRESH_MS = 5000;

let refreshTimer = null;
let scheduling = null; // the schedule form, wired at start

// --- signing in and out ------------------------------------------------------------------

function showSignIn(message = "") {
  stopRefresh();
  forgetAnnounced();
  hideSignedIn();
  $("sign-in-error").textContent = message;
  showView("sign-in", { heading: "Clinician sign in", focus: false });
  $("email").focus();
}

function signedIn(me) {
  showDashboard(me);
  announce(`Signed in as ${me.display_name}.`);
}

function showDashboard(me) {
  showSignedIn(me);
  showView("dashboard", { heading: "Today's visits" });
  scheduling.reset();
  refreshVisits();
}

// What a right password (or a new one replacing a temporary one) leads to.
function afterPassword(me) {
  if (me.password_change_required) {
    showNewPasswordStep();
    return;
  }
  if (me.mfa_required && me.enroll) {
    // The clinic requires a second factor and this account has none yet: set it up first.
    window.location.assign("/clinician/security");
    return;
  }
  if (me.mfa_required) {
    showCodeStep(me.methods || []);
    return;
  }
  signedIn(me);
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
    afterPassword(me);
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

// --- start -----------------------------------------------------------------------------

async function start() {
  $("sign-in-form").addEventListener("submit", signIn);
  mountCodeStep({ signedIn, restart: showSignIn });
  mountNewPasswordStep({ next: afterPassword, restart: showSignIn });
  mountSignOut(() => {
    showSignIn();
    announce("You are signed out.");
  });
  scheduling = mountScheduling({
    onScheduled: refreshVisits,
    onSignedOut: () => showSignIn("Your session has ended. Please sign in again."),
  });
  try {
    showDashboard(await api("/api/auth/me"));
  } catch {
    showSignIn();
  }
}

start();
