// Warns before the session ends and offers to extend it (WCAG 2.2.1 Timing Adjustable);
// once it has ended, says so and how to sign in again, instead of leaving the page to fail
// with silent 401s.
//
// A page includes it with its own tag, so page scripts need not know about it:
//   <script type="module" src="/static/js/session-timeout.js" data-session="clinician"></script>
// (data-session="patient" on the patient's page). A page that signs in without reloading
// may call refreshSession() afterwards; otherwise a signed-out page looks again each minute.

import { announce, formatTime } from "./a11y.js";
import { TimeoutDialog } from "./session-timeout-dialog.js";

const WARN_BEFORE_MS = 120_000; // two minutes: even a tab that wakes late leaves >= 20 s
const MAX_WAIT_MS = 30_000; // short waits that re-read Date.now(): a sleeping tab catches up
const SIGNED_OUT_RECHECK_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;
// A server's Date header has whole seconds and may lag a second: count down from a little
// before the real end, so "1 second left" never means "already gone".
const SERVER_CLOCK_SLACK_MS = 2_000;

const KINDS = {
  clinician: {
    statusUrl: "/api/auth/me",
    extendUrl: "/api/auth/extend",
    signOutUrl: "/api/auth/logout",
    signInHref: "/clinician",
    warningHeading: "Your session is about to end",
    warningText: "For your security, you will be signed out in",
    stayLabel: "Stay signed in",
    stayHint: "Choose Stay signed in to keep working.",
    signOutLabel: "Sign out",
    stayedNews: (until) => `You stay signed in until ${until}.`,
    expiredHeading: "Your session has ended",
    expiredText: "For your security, you were signed out. Sign in again to continue.",
    signInLabel: "Sign in again",
  },
  patient: {
    statusUrl: "/api/patient/session",
    extendUrl: "/api/patient/extend",
    signOutUrl: null, // leaving the visit is the page's own action
    signInHref: null, // the invite link is only in the patient's message
    warningHeading: "Your visit session is about to end",
    warningText: "For your security, this page will stop working in",
    stayLabel: "Stay in the visit",
    stayHint: "Choose Stay in the visit to keep it open.",
    signOutLabel: null,
    stayedNews: (until) => `Your visit page stays open until ${until}.`,
    expiredHeading: "Your visit session has ended",
    expiredText:
      "To join again, open the link in the message your clinic sent you, or ask the clinic " +
      "for a new link.",
    signInLabel: null,
  },
};

// Without its tag (imported by a page script only) the module stays idle.
const tag = document.querySelector('script[src$="/session-timeout.js"][data-session]');
const kind = KINDS[tag?.dataset.session] || null;

// signed-out: no session known | active | warning: dialog open | expired: told it ended
let phase = "signed-out";
let expiresAt = null; // the server's expires_at for the session we know
let deadline = 0; // when it ends, in this browser's Date.now(), measured by the server's clock
let timer = null;
let extending = false;
let queue = Promise.resolve();
let ui = null; // the TimeoutDialog, made when first needed

// --- talking to the server -------------------------------------------------------------------

async function ask(url, method = "GET") {
  const controller = new AbortController();
  const abort = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: controller.signal,
    });
    const body = await response.json().catch(() => null);
    return { status: response.status, body, serverNow: Date.parse(response.headers.get("Date")) };
  } catch {
    return { status: 0, body: null, serverNow: NaN };
  } finally {
    clearTimeout(abort);
  }
}

// The end is measured on the server's clock (its Date header), so a browser whose clock is
// wrong still warns in time. It is re-measured only when the end moved (an extension) or
// was reached, so each re-check does not shift the countdown by the request's latency.
function learn(reply) {
  const serverEnd = Date.parse(reply.body?.expires_at);
  if (Number.isNaN(serverEnd)) return false;
  if (reply.body.expires_at !== expiresAt || Date.now() >= deadline) {
    const serverNow = Number.isNaN(reply.serverNow) ? Date.now() : reply.serverNow;
    expiresAt = reply.body.expires_at;
    deadline = Date.now() + (serverEnd - serverNow) - SERVER_CLOCK_SLACK_MS;
  }
  return true;
}

/** Ask the server about the session; the HTTP status (0: unreachable). */
async function check() {
  const reply = await ask(kind.statusUrl);
  if (reply.status === 200 && learn(reply)) {
    if (phase === "signed-out" || phase === "expired") {
      if (ui?.open) ui.close();
      phase = "active";
    }
  }
  return reply.status;
}

function forget() {
  phase = "signed-out";
  expiresAt = null;
  if (ui?.open) ui.close();
}

// --- when to look again ------------------------------------------------------------------------

function schedule() {
  clearTimeout(timer);
  let wait = SIGNED_OUT_RECHECK_MS;
  const left = deadline - Date.now();
  if (phase === "warning") wait = left % 1000 || 1000; // on the countdown's second marks
  else if (phase === "active") wait = Math.max(0, Math.min(MAX_WAIT_MS, left - WARN_BEFORE_MS));
  timer = setTimeout(tick, wait);
}

async function step() {
  if (phase === "signed-out" || phase === "expired") {
    await check();
  } else if (deadline - Date.now() <= 0) {
    // Only the server knows whether it ended: another tab may have extended it.
    const status = await check();
    if (status !== 200 || deadline <= Date.now()) return showExpired();
  } else if (phase === "active" && deadline - Date.now() <= WARN_BEFORE_MS) {
    const status = await check();
    // Signed out elsewhere, or (a patient) the visit is over: the page itself says so.
    if (status !== 200 && status !== 0) forget();
    else if (deadline - Date.now() <= WARN_BEFORE_MS) showWarning();
  }
  if (phase === "warning" && deadline - Date.now() > WARN_BEFORE_MS) ui.close();
  if (phase === "warning" && !ui.open) phase = "active";
  if (phase === "warning") updateCountdown();
  schedule();
}

// One step at a time: timers, tab wake-ups and refreshSession() may ask at once.
function serial(work) {
  const run = queue.then(work);
  queue = run.catch(() => {});
  return run;
}

function tick() {
  return serial(step);
}

/** Look at the session now, e.g. right after signing in or out without a reload. */
export function refreshSession() {
  if (!kind) return Promise.resolve();
  return serial(async () => {
    const status = await check();
    const gone = status !== 200 && status !== 0;
    if (gone && (phase === "active" || phase === "warning")) forget();
    await step();
  });
}

// --- the dialog --------------------------------------------------------------------------------

function secondsLeft() {
  return Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
}

function dialog() {
  ui ||= new TimeoutDialog(kind, {
    onStay: extendSession,
    onSignOut: signOutNow,
    isWarning: () => phase === "warning",
  });
  return ui;
}

function showWarning() {
  phase = "warning";
  dialog().warn(secondsLeft());
}

function updateCountdown() {
  ui.countdown(secondsLeft());
}

function showExpired() {
  phase = "expired";
  clearTimeout(timer);
  dialog().expired();
  schedule(); // a sign-in elsewhere (or on this page) brings the warnings back
}

async function extendSession() {
  if (extending || phase !== "warning") return;
  extending = true;
  const reply = await ask(kind.extendUrl, "POST");
  extending = false;
  if (reply.status === 200 && learn(reply)) {
    phase = "active";
    ui.close();
    announce(kind.stayedNews(formatTime(new Date(deadline).toISOString())));
    schedule();
    return;
  }
  if (reply.status === 401) {
    showExpired();
    return;
  }
  ui.failed(
    typeof reply.body?.detail === "string"
      ? `That did not work: ${reply.body.detail}.`
      : "The server could not be reached. Check your connection and try again.",
  );
}

async function signOutNow() {
  await ask(kind.signOutUrl, "POST");
  location.assign(kind.signInHref);
}

if (kind) {
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) tick();
  });
  tick();
}
