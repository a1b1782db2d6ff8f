// The patient's visit, as one page with views so the camera stream and the websocket
// live across steps: invite -> name -> device check -> waiting room -> call -> ended.

import { announce, formatDateTime, showView } from "./a11y.js";
import {
  loadActions, setPage as setActionsPage, wakePhrase,
} from "./actions.js";
import { ApiError, api, fetchRtcConfig } from "./api.js";
import { openSession } from "./check-in.js";
import { confirmWith, mountMediaControls } from "./call-ui.js";
import { ConsentQuestion, loadConsent, mountConsentChange, saveConsent } from "./consent.js";
import { DeviceCheck } from "./device-check.js";
import { mountIntakeStep } from "./intake-step.js";
import { registerPatientActions } from "./patient-actions.js";
import { refreshSession } from "./session-timeout.js";
import { openPatientCall } from "./patient-call.js";
import { addressHasInvite, forgetInvite, takeInviteFromAddress } from "./invite.js";
import { PatientVoice } from "./patient-voice.js";
import { $, viewHidden } from "./dom.js";

let visit = null; // the patient session's view of the visit
let invite = null;
let devices = null; // device-check.js: the camera, microphone and their check
let callPage = null; // call-page.js, from joining the waiting room on
let consent = null; // the join step's ConsentQuestion
let intake = null; // the waiting room's "Before your visit" step
let rtcConfig = {};
let finished = false;
let page = "join"; // where the patient is, as the action registry names it
let invitedVisit = null; // the visit the invite opens, before the name is given

const voice = new PatientVoice(() => ({
  visitId: visit?.visit_id || invitedVisit?.visit_id,
  invite: visit ? null : invite,
  rtcConfig,
  page,
  clinicianName: invitedVisit?.clinician_name,
  consent,
}));

// What the server says of a session it ended early (telehealth/visits/patient_links.py):
// shown as they are after a reload, instead of asking for the link.
const SESSION_ENDED_TEXTS = new Set([
  "This visit was opened on another device.",
  "This visit link was withdrawn; ask the clinic for a new one.",
  "This visit is closed.",
  "You signed out of this visit.",
]);

let leaving = false; // the patient chose to leave: sign out once the room let them go

const WAITING_HINT = "To answer a few questions about why you came, say 'start symptom " +
  "check'. To hear every command, say 'what can I say'.";

// --- where the patient is, for the action registry and voice guidance ------------------------

function moveTo(name, { say } = {}) {
  page = name;
  setActionsPage(name);
  voice.guide?.setPage(name, { say });
}

function describeVisit() {
  const who = visit.clinician_name ? `with ${visit.clinician_name}` : "";
  $("visit-summary").textContent = `Visit ${who}, ${formatDateTime(visit.scheduled_at)}`;
}

function linkProblem(text) {
  $("link-problem-text").textContent = text;
  showView("link-problem");
}

// The call was refused for the session: the server says why when it ended it (the link
// withdrawn or replaced, signed out elsewhere), else `fallback` is shown.
async function sessionProblem(fallback) {
  try {
    await api("/api/patient/visit");
  } catch (failure) {
    const ended = failure instanceof ApiError && SESSION_ENDED_TEXTS.has(failure.message);
    linkProblem(ended ? failure.message : fallback);
    return;
  }
  linkProblem(fallback);
}

// --- step 1: consent and your name ------------------------------------------------------------

// The first question of the form gets focus, so nobody types a name past it unread.
function askForName() {
  moveTo("join");
  showView("name", { focus: false });
  if (consent.answer === null) consent.focus();
  else $("display-name").focus();
}

async function submitName(event) {
  event.preventDefault();
  const opened = await openSession({
    invite,
    consent,
    say: (text) => voice.guide?.say(text),
    refused: (text) => {
      forgetInvite();
      invite = null;
      linkProblem(text);
    },
  });
  if (!opened) return;
  visit = opened;
  forgetInvite();
  invite = null;
  refreshSession(); // the timeout warning starts counting for this new session
  voice.guide?.signedIn();
  describeVisit();
  if (!(await saveConsent(consent.answer))) {
    announce("Your answer about saving captions could not be stored, so they are not saved. " +
      "You can answer again in the caption settings during the visit.");
  }
  startDeviceCheck();
}

// --- step 2: camera and microphone -----------------------------------------------------------

function startDeviceCheck() {
  moveTo("device_check");
  showView("check");
  devices.open();
}

// --- step 3: the waiting room and the call ---------------------------------------------------

function showWaiting(position, clinicianPresent) {
  const queue = position ? `You are number ${position} in line.` : "You are in the waiting room.";
  const clinician = clinicianPresent
    ? "Your clinician is here and will let you in soon."
    : "Your clinician has not joined yet.";
  $("queue-text").textContent = queue;
  $("clinician-text").textContent = clinician;
  announce(`${queue} ${clinician}`);
}

function enterCall(peers) {
  for (const peer of peers) callPage.notePeer(peer);
  intake.hide();
  devices.stopPreview(); // one rendering of our own camera is enough
  $("local-video").srcObject = devices.stream;
  callPage.startSpeechCaptions(visit.visit_id);
  if (!viewHidden("call")) return;
  const wake = wakePhrase();
  moveTo("call", {
    say: `To give a command during the call, start with '${wake}', for example ` +
      `'${wake}, mute'.`,
  });
  showView("call");
  announce("You are in the visit. Connecting video…");
}

function onWelcome(welcome) {
  $("reconnect-actions").hidden = true;
  callPage.call.announceMediaState();
  const reconnected = callPage.connectedText("");
  if (reconnected) announce(reconnected);
  if (welcome.state === "in_room") {
    enterCall(welcome.peers);
    // Back after a reload: we have no media link to the others, so we start one.
    for (const peer of welcome.peers) callPage.call.connectTo(peer.peer_id);
    return;
  }
  devices.meter.stop();
  if (viewHidden("waiting")) showView("waiting");
  if (page !== "waiting" && page !== "intake") moveTo("waiting", { say: WAITING_HINT });
  intake.show();
}

// Leaving ends this browser's session too, so nobody at this device can come back into
// the visit; the link in the clinic's message opens it again while the visit is open.
async function signOut() {
  try {
    await api("/api/patient/logout", { method: "POST" });
  } catch {
    /* already ended (or the server is away): the session dies with the visit anyway */
  }
}

function finish(text) {
  if (finished) return;
  finished = true;
  if (leaving) signOut();
  intake.hide();
  callPage?.finish();
  devices.close();
  $("local-video").srcObject = null;
  $("reconnect-actions").hidden = true;
  $("ended-text").textContent = text;
  moveTo("ended");
  showView("ended");
  announce(`The visit has ended. ${text}`);
}

async function joinWaitingRoom() {
  $("join-waiting-room").disabled = true;
  rtcConfig = await fetchRtcConfig(visit.visit_id);
  callPage = openPatientCall({
    visitId: visit.visit_id,
    localStream: devices.stream,
    rtcConfig,
    hooks: {
      welcome: onWelcome,
      queue: showWaiting,
      admitted: enterCall,
      finish,
      linkProblem: sessionProblem,
      finished: () => finished,
      offerReconnect: () => {
        $("reconnect-actions").hidden = false;
      },
    },
  });
  showView("waiting");
  announce("Joining the waiting room…");
  callPage.connect();
}

async function leave({ confirmed = false } = {}) {
  if (!confirmed && !(await confirmWith($("leave-dialog")))) return;
  leaving = true;
  if (!callPage || !callPage.signaling.leave()) finish("You left the visit.");
}

function canCheckIn() {
  if (page === "join") return !viewHidden("name");
  return page === "device_check" && !$("join-waiting-room").disabled;
}

function checkIn() {
  if (page === "join") $("name-form").requestSubmit();
  else joinWaitingRoom();
}

// --- start -----------------------------------------------------------------------------------

async function start() {
  voice.mountSetting($("voice-guidance"));
  try {
    await loadActions({ page });
  } catch {
    /* no registry: buttons still work; shortcuts and voice commands wait for a reload */
  }
  devices = new DeviceCheck({ say: (text) => voice.guide?.say(text) });
  mountMediaControls({
    muteButton: $("mute"),
    cameraButton: $("camera"),
    getCall: () => callPage?.call,
  });
  $("name-form").addEventListener("submit", submitName);
  consent = new ConsentQuestion();
  mountConsentChange();
  intake = mountIntakeStep({
    getVisitId: () => visit.visit_id,
    getStream: () => devices.stream,
    getRtcConfig: () => rtcConfig,
    onVoice: (active, { finished: answered } = {}) => {
      if (page !== "waiting" && page !== "intake") return;
      if (active) moveTo("intake");
      else moveTo("waiting", { say: answered ? "Thank you, your answers were sent." : "" });
    },
  });
  registerPatientActions({
    page: () => page,
    guide: () => voice.guide,
    checkIn,
    canCheckIn,
    startSymptomCheck: () => intake.startVoice(),
    canStartSymptomCheck: () => page === "waiting" && intake.canStartVoice(),
    captionShow: $("caption-show"),
    captionLog: $("caption-log"),
    helpPanel: $("commands-help"),
    helpBody: $("commands-help-body"),
    endCall: leave,
  });
  $("join-without-devices").addEventListener("click", joinWaitingRoom);
  $("join-waiting-room").addEventListener("click", joinWaitingRoom);
  $("reconnect").addEventListener("click", () => {
    $("reconnect-actions").hidden = true;
    callPage?.connect();
  });
  for (const button of document.querySelectorAll("[data-leave]")) {
    button.addEventListener("click", () => leave());
  }

  // A link pasted into the address bar of this open page changes only the fragment.
  window.addEventListener("hashchange", () => {
    if (callPage || !addressHasInvite()) return;
    invite = takeInviteFromAddress();
    askForName();
  });
  invite = takeInviteFromAddress();
  if (invite) {
    askForName();
    try {
      invitedVisit = await api("/api/patient/invite", { method: "POST", body: { invite } });
    } catch {
      return; // the form says what is wrong with the link when it is sent
    }
    voice.start();
    return;
  }
  // No link in the address: maybe a reload of a visit this browser already opened.
  try {
    visit = await api("/api/patient/visit");
  } catch (failure) {
    const ended = failure instanceof ApiError && SESSION_ENDED_TEXTS.has(failure.message);
    linkProblem(ended ? failure.message : "This page needs the visit link your clinic sent you.");
    return;
  }
  describeVisit();
  loadConsent();
  if (visit.status === "ended" || visit.status === "cancelled") {
    finish(visit.status === "ended" ? "This visit is over." : "This visit was cancelled.");
    return;
  }
  startDeviceCheck();
  voice.start();
}

start();
