// Warns before the session ends and offers to extend it (WCAG 2.2.1 Timing Adjustable);
// once it has ended, says so and how to sign in again, instead of leaving the page to fail
// with silent 401s.
//
// A page includes it with its own tag, so page scripts need not know about it:
//   <script type="module" src="/static/js/session-timeout.js" data-session="clinician"></script>
// (data-session="patient" on the patient's page). A page that signs in without reloading
// may call refreshSession() afterwards; otherwise a signed-out page looks again each minute.

import { announce, formatTime } from "./a11y.js";

const WARN_BEFORE_MS = 120_000; // two minutes: even a tab that wakes late leaves >= 20 s
const ANNOUNCE_AT_S = [60, 30, 10]; // the countdown is shown every second, said only here
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
let lastSaid = Infinity; // seconds left at the last announcement
let timer = null;
let extending = false;
let queue = Promise.resolve();
let ui = null;

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
      if (ui?.dialog.open) ui.dialog.close();
      phase = "active";
    }
  }
  return reply.status;
}

function forget() {
  phase = "signed-out";
  expiresAt = null;
  if (ui?.dialog.open) ui.dialog.close();
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
  if (phase === "warning" && deadline - Date.now() > WARN_BEFORE_MS) ui.dialog.close();
  if (phase === "warning" && !ui.dialog.open) phase = "active";
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

function element(name, attributes = {}, text = "") {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  node.textContent = text;
  return node;
}

function buildDialog() {
  const dialog = element("dialog", {
    class: "session-timeout",
    "aria-labelledby": "session-timeout-heading",
  });
  const heading = element("h2", { id: "session-timeout-heading" });
  const text = element("p", { id: "session-timeout-text" });
  // Said at the start and at 60, 30 and 10 seconds; never every second.
  const news = element("p", { role: "status", class: "visually-hidden" });
  const error = element("p", { class: "error", role: "alert" });

  const warningActions = element("div", { class: "actions" });
  const stay = element("button", { type: "button" }, kind.stayLabel);
  stay.addEventListener("click", extendSession);
  warningActions.append(stay);
  if (kind.signOutLabel) {
    const signOut = element("button", { type: "button", class: "secondary" }, kind.signOutLabel);
    signOut.addEventListener("click", signOutNow);
    warningActions.append(signOut);
  }

  const expiredActions = element("div", { class: "actions" });
  let signIn = null;
  if (kind.signInLabel) {
    signIn = element("a", { class: "button-link", href: kind.signInHref }, kind.signInLabel);
    expiredActions.append(signIn);
  }
  // Closing keeps what is on screen (a call in progress, say) readable.
  const close = element("button", { type: "button", class: "secondary" }, "Close");
  close.addEventListener("click", () => dialog.close());
  expiredActions.append(close);

  dialog.append(heading, text, news, error, warningActions, expiredActions);
  // Escape means "stay", the safe choice; after the end it just closes the message.
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || phase !== "warning") return;
    event.preventDefault();
    extendSession();
  });
  dialog.addEventListener("cancel", (event) => {
    if (phase !== "warning") return;
    event.preventDefault();
    extendSession();
  });
  document.body.append(dialog);
  return { dialog, heading, text, news, error, stay, signIn, close, warningActions, expiredActions };
}

function formatLeft(seconds) {
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  const parts = [];
  if (minutes) parts.push(`${minutes} ${minutes === 1 ? "minute" : "minutes"}`);
  if (rest || !minutes) parts.push(`${rest} ${rest === 1 ? "second" : "seconds"}`);
  return parts.join(" ");
}

function secondsLeft() {
  return Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
}

function say(words) {
  // Emptied first and filled a moment later, so a region just shown is read out.
  ui.news.textContent = "";
  setTimeout(() => {
    ui.news.textContent = words;
  }, 100);
}

function showWarning() {
  ui ||= buildDialog();
  phase = "warning";
  const seconds = secondsLeft();
  ui.heading.textContent = kind.warningHeading;
  ui.text.replaceChildren(
    `${kind.warningText} `,
    element("strong", { role: "timer" }, formatLeft(seconds)),
    `. ${kind.stayHint}`,
  );
  ui.dialog.removeAttribute("aria-describedby");
  ui.error.textContent = "";
  ui.warningActions.hidden = false;
  ui.expiredActions.hidden = true;
  if (!ui.dialog.open) ui.dialog.showModal();
  ui.stay.focus();
  lastSaid = seconds;
  say(`${kind.warningText} ${formatLeft(seconds)}. ${kind.stayHint}`);
}

function updateCountdown() {
  const seconds = secondsLeft();
  const timerText = ui.text.querySelector('[role="timer"]');
  if (timerText) timerText.textContent = formatLeft(seconds);
  const due = ANNOUNCE_AT_S.filter((mark) => seconds <= mark && mark < lastSaid);
  if (due.length) {
    lastSaid = Math.min(...due);
    say(`${formatLeft(seconds)} left.`);
  }
}

function showExpired() {
  ui ||= buildDialog();
  phase = "expired";
  clearTimeout(timer);
  ui.heading.textContent = kind.expiredHeading;
  ui.text.textContent = kind.expiredText;
  ui.dialog.setAttribute("aria-describedby", "session-timeout-text");
  ui.error.textContent = "";
  ui.news.textContent = "";
  ui.warningActions.hidden = true;
  ui.expiredActions.hidden = false;
  if (!ui.dialog.open) ui.dialog.showModal();
  (ui.signIn || ui.close).focus();
  schedule(); // a sign-in elsewhere (or on this page) brings the warnings back
}

async function extendSession() {
  if (extending || phase !== "warning") return;
  extending = true;
  const reply = await ask(kind.extendUrl, "POST");
  extending = false;
  if (reply.status === 200 && learn(reply)) {
    phase = "active";
    ui.dialog.close();
    announce(kind.stayedNews(formatTime(new Date(deadline).toISOString())));
    schedule();
    return;
  }
  if (reply.status === 401) {
    showExpired();
    return;
  }
  ui.error.textContent =
    typeof reply.body?.detail === "string"
      ? `That did not work: ${reply.body.detail}.`
      : "The server could not be reached. Check your connection and try again.";
  if (!ui.dialog.open) ui.dialog.showModal(); // a close request may have closed it
  ui.stay.focus();
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
