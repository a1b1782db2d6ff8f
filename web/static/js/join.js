// The patient's visit, as one page with views so the camera stream and the websocket
// live across steps: invite -> name -> device check -> waiting room -> call -> ended.

import { announce, formatDateTime, showView } from "./a11y.js";
import {
  loadActions, perform, setPage as setActionsPage, voiceAvailable, wakePhrase,
} from "./actions.js";
import { ApiError, api, fetchIceServers } from "./api.js";
import { CallSession, stopStream } from "./call.js";
import { RemoteTiles, confirmWith, mountChat, mountMediaControls } from "./call-ui.js";
import { mountCaptions } from "./captions.js";
import { ConsentQuestion, loadConsent, mountConsentChange, saveConsent } from "./consent.js";
import { LevelMeter, NO_CAMERA_NOTE, openLocalMedia } from "./devices.js";
import { mountIntakeStep } from "./intake-step.js";
import { registerPatientActions } from "./patient-actions.js";
import { refreshSession } from "./session-timeout.js";
import { CLOSE_MESSAGES, SignalingClient } from "./signaling.js";
import { VoiceGuide, rememberVoiceGuidance, voiceGuidanceWanted } from "./voice-guide.js";
import { $ } from "./dom.js";

const INVITE_KEY = "telehealth.invite";

const names = new Map(); // peer id -> display name
let visit = null; // the patient session's view of the visit
let invite = null;
let localStream = null;
let meter = null;
let signaling = null;
let call = null;
let tiles = null;
let consent = null; // the join step's ConsentQuestion
let captions = null; // {view, speech} of captions.js
let intake = null; // the waiting room's "Before your visit" step
let iceServers = [];
let finished = false;
let reconnecting = false; // a dropped connection is being resumed
let page = "join"; // where the patient is, as the action registry names it
let guide = null; // voice guidance (voice-guide.js), while it is on
let guideStream = null; // its own microphone track: muting the call does not silence it
let invitedVisit = null; // the visit the invite opens, before the name is given

const WAITING_HINT = "To answer a few questions about why you came, say 'start symptom " +
  "check'. To hear every command, say 'what can I say'.";

// --- where the patient is, for the action registry and voice guidance ------------------------

function moveTo(name, { say } = {}) {
  page = name;
  setActionsPage(name);
  guide?.setPage(name, { say });
}

// --- voice guidance ----------------------------------------------------------------------------

async function startVoiceGuide() {
  const visitId = visit?.visit_id || invitedVisit?.visit_id;
  if (guide || !visitId || !voiceGuidanceWanted() || !voiceAvailable()) return;
  try {
    guideStream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch {
    return; // no microphone (or not allowed): the page works by keyboard and screen reader
  }
  guide = new VoiceGuide({
    visitId,
    invite: visit ? null : invite,
    stream: guideStream,
    iceServers,
    audio: $("guide-audio"),
  });
  guide.start(page);
  if (page === "join") checkInByVoice();
}

function stopVoiceGuide() {
  guide?.close();
  guide = null;
  stopStream(guideStream);
  guideStream = null;
}

// The check-in form by voice: the consent question, then the name, read back to confirm.
async function checkInByVoice() {
  const who = invitedVisit?.clinician_name ? ` with ${invitedVisit.clinician_name}` : "";
  try {
    const saveCaptions = await guide.ask("consent", "yes_no",
      `Welcome to your video visit${who}. You can do every step by voice or with the ` +
      "keyboard. First, may we save the captions of this visit as a written record for " +
      "your clinician? You can see captions live either way. Please say yes or no.");
    consent.choose(saveCaptions);
    for (;;) {
      const name = await guide.ask("name", "name",
        "Thank you. Now please say your name, so the clinician knows who is waiting.");
      $("display-name").value = name;
      if (await guide.ask("name-check", "yes_no", `I heard ${name}. Is that right?`)) break;
    }
    await perform("check_in", "voice");
  } catch {
    /* the question was withdrawn: the patient went on another way */
  }
}

// --- the invite link -----------------------------------------------------------------------

// The token arrives in the fragment (never sent to the server by the browser); take it
// out of the address bar and history at once, keeping it only until it is redeemed.
function takeInviteFromAddress() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("invite");
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  try {
    if (token) sessionStorage.setItem(INVITE_KEY, token);
    return token || sessionStorage.getItem(INVITE_KEY);
  } catch {
    return token;
  }
}

function forgetInvite() {
  invite = null;
  try {
    sessionStorage.removeItem(INVITE_KEY);
  } catch {
    /* nothing stored */
  }
}

function describeVisit() {
  const who = visit.clinician_name ? `with ${visit.clinician_name}` : "";
  $("visit-summary").textContent = `Visit ${who}, ${formatDateTime(visit.scheduled_at)}`;
}

function linkProblem(text) {
  $("link-problem-text").textContent = text;
  showView("link-problem");
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
  if (!consent.validate()) return;
  const input = $("display-name");
  const name = input.value.trim();
  const error = $("name-error");
  if (!name) {
    error.textContent = "Enter your name.";
    guide?.say(error.textContent);
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  error.textContent = "";
  try {
    visit = await api("/api/patient/session", {
      method: "POST",
      body: { invite, display_name: name },
    });
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 403) {
      forgetInvite();
      linkProblem(failure.message);
    } else {
      error.textContent = failure.message;
      input.focus();
    }
    guide?.say(failure.message);
    return;
  }
  forgetInvite();
  refreshSession(); // the timeout warning starts counting for this new session
  guide?.signedIn();
  describeVisit();
  if (!(await saveConsent(consent.answer))) {
    announce("Your answer about saving captions could not be stored, so they are not saved. " +
      "You can answer again in the caption settings during the visit.");
  }
  startDeviceCheck();
}

// --- step 2: camera and microphone -----------------------------------------------------------

// The heading is made with its text, so the page never holds an empty heading.
function showDeviceHelp({ title, text }) {
  const heading = document.createElement("h3");
  heading.id = "device-help-title";
  heading.tabIndex = -1;
  heading.textContent = title;
  $("device-help-title")?.remove();
  $("device-help").prepend(heading);
  $("device-help-text").textContent = text;
  $("device-help").hidden = false;
  heading.focus();
}

async function openDevices() {
  $("join-waiting-room").disabled = true;
  $("device-help").hidden = true;
  $("device-note").textContent = "Starting your camera and microphone…";
  stopStream(localStream);
  meter.stop();
  const media = await openLocalMedia();
  localStream = media.stream;
  $("preview").srcObject = localStream;
  if (!localStream) {
    $("device-note").textContent = "";
    showDeviceHelp(media.problem);
    return;
  }
  meter.start(localStream);
  guide?.say("To join the waiting room, say 'check in'.");
  $("device-note").textContent = media.audioOnly
    ? NO_CAMERA_NOTE
    : "Your camera and microphone are working.";
  $("camera").disabled = media.audioOnly;
  $("join-waiting-room").disabled = false;
  announce(
    media.audioOnly
      ? `Your microphone is working. ${NO_CAMERA_NOTE}`
      : "Your camera and microphone are working. When you are ready, join the waiting room.",
  );
}

function startDeviceCheck() {
  moveTo("device_check");
  showView("check");
  openDevices();
}

// --- step 3: the waiting room and the call ---------------------------------------------------

function notePeer(peer) {
  names.set(peer.peer_id, peer.name);
  call.notePeer(peer);
  tiles.setName(peer.peer_id, peer.name);
}

function nameOf(peerId) {
  return names.get(peerId) || "The clinician";
}

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
  for (const peer of peers) notePeer(peer);
  intake.hide();
  meter.stop();
  $("preview").srcObject = null; // one rendering of our own camera is enough
  $("local-video").srcObject = localStream;
  captions.speech.start({ visitId: visit.visit_id, stream: localStream, iceServers });
  if (!$("main").querySelector('[data-view="call"]').hidden) return;
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
  call.announceMediaState();
  if (reconnecting) {
    reconnecting = false;
    announce("Reconnected.");
  }
  if (welcome.state === "in_room") {
    enterCall(welcome.peers);
    // Back after a reload: we have no media link to the others, so we start one.
    for (const peer of welcome.peers) call.connectTo(peer.peer_id);
    return;
  }
  meter.stop();
  if ($("main").querySelector('[data-view="waiting"]').hidden) showView("waiting");
  if (page !== "waiting" && page !== "intake") moveTo("waiting", { say: WAITING_HINT });
  intake.show();
}

function finish(text) {
  if (finished) return;
  finished = true;
  intake.hide();
  call?.close();
  tiles?.clear();
  captions?.speech.close();
  captions?.view.clearPartials();
  meter.stop();
  stopStream(localStream);
  $("preview").srcObject = null;
  $("local-video").srcObject = null;
  signaling?.close();
  $("reconnect-actions").hidden = true;
  $("ended-text").textContent = text;
  moveTo("ended");
  showView("ended");
  announce(`The visit has ended. ${text}`);
}

function onClosed({ code }) {
  if (finished) return;
  if (code === 4410) finish("This visit is closed.");
  else if (code === 4401) linkProblem("Your visit link has expired. Ask the clinic for a new one.");
  else if (code === 4403) linkProblem(CLOSE_MESSAGES[4403]);
  else if (code === 4409) finish(CLOSE_MESSAGES[4409]);
  else {
    announce(`${CLOSE_MESSAGES[code] || "The connection was lost."} Press Reconnect to try again.`);
    $("reconnect-actions").hidden = false;
  }
}

function onBye({ reason }) {
  if (reason === "left") finish("You left the visit.");
  else if (reason === "replaced") finish(CLOSE_MESSAGES[4409]);
  else finish("You were disconnected for too long. Reload this page to join again.");
}

async function joinWaitingRoom() {
  $("join-waiting-room").disabled = true;
  iceServers = await fetchIceServers();
  signaling = new SignalingClient(visit.visit_id);
  tiles = new RemoteTiles($("remote-tiles"), $("play-sound"));
  call = new CallSession({
    signaling,
    localStream,
    iceServers,
    onRemote: (peerId, stream) => tiles.show(peerId, stream),
    onRemoteGone: (peerId) => tiles.remove(peerId),
    onConnectionState: (peerId, state) => {
      tiles.setConnectionState(peerId, state);
      if (state === "connected") announce(`You are connected with ${nameOf(peerId)}.`);
      if (state === "failed") announce("The video connection failed; trying again.");
    },
  });
  window.__call = {
    get pc() {
      return call.primary ? call.primary.pc : null;
    },
    get remoteStream() {
      return call.primary ? call.primary.remoteStream : null;
    },
    call,
    signaling,
  };
  signaling
    .on("welcome", onWelcome)
    .on("queue", (m) => showWaiting(m.position, m.clinician_present))
    .on("admitted", (m) => enterCall(m.peers))
    .on("peer_joined", ({ peer }) => {
      notePeer(peer);
      // Someone new in the room (or the clinician back on a new connection): offer media.
      if (peer.state === "in_room") call.connectTo(peer.peer_id);
    })
    .on("peer_left", ({ peer, reason }) => {
      call.drop(peer.peer_id);
      if (reason !== "replaced") announce(`${peer.name} left the call.`);
    })
    .on("presence", ({ peer_id: peerId, online }) => {
      if (online) call.peerBack(peerId);
      announce(
        online
          ? `${nameOf(peerId)} is back.`
          : `${nameOf(peerId)} lost the connection. Please wait.`,
      );
    })
    .on("media_state", (m) => tiles.setMediaState(m.peer_id, m.audio, m.video))
    .on("denied", (m) => finish(m.reason || "The clinician could not admit you to this visit."))
    .on("call_ended", () => finish("Thank you. The clinician ended the call."))
    .on("bye", onBye)
    .on("status", (m) => m.detail && announce(m.detail))
    .on("reconnecting", () => {
      reconnecting = true;
      announce("Reconnecting…");
    })
    .on("closed", onClosed);
  mountChat({ form: $("chat-form"), input: $("chat-input"), log: $("chat-log"), signaling });
  captions = mountCaptions({ signaling });
  showView("waiting");
  announce("Joining the waiting room…");
  signaling.connect();
}

async function leave({ confirmed = false } = {}) {
  if (!confirmed && !(await confirmWith($("leave-dialog")))) return;
  if (!signaling || !signaling.leave()) finish("You left the visit.");
}

function canCheckIn() {
  if (page === "join") return !$("main").querySelector('[data-view="name"]').hidden;
  return page === "device_check" && !$("join-waiting-room").disabled;
}

function checkIn() {
  if (page === "join") $("name-form").requestSubmit();
  else joinWaitingRoom();
}

// --- start -----------------------------------------------------------------------------------

function mountVoiceGuidanceSetting() {
  const box = $("voice-guidance");
  box.checked = voiceGuidanceWanted();
  box.addEventListener("change", () => {
    rememberVoiceGuidance(box.checked);
    if (box.checked) startVoiceGuide();
    else stopVoiceGuide();
    announce(box.checked ? "Voice guidance is on." : "Voice guidance is off.");
  });
}

async function start() {
  mountVoiceGuidanceSetting();
  try {
    await loadActions({ page });
  } catch {
    /* no registry: buttons still work; shortcuts and voice commands wait for a reload */
  }
  meter = new LevelMeter($("level"), {
    onSound: () => announce("We can hear your microphone."),
  });
  mountMediaControls({
    muteButton: $("mute"),
    cameraButton: $("camera"),
    getCall: () => call,
    shortcuts: false,
  });
  $("name-form").addEventListener("submit", submitName);
  consent = new ConsentQuestion();
  mountConsentChange();
  intake = mountIntakeStep({
    getVisitId: () => visit.visit_id,
    getStream: () => localStream,
    getIceServers: () => iceServers,
    onVoice: (active, { finished: answered } = {}) => {
      if (page !== "waiting" && page !== "intake") return;
      if (active) moveTo("intake");
      else moveTo("waiting", { say: answered ? "Thank you, your answers were sent." : "" });
    },
  });
  registerPatientActions({
    page: () => page,
    guide: () => guide,
    checkIn,
    canCheckIn,
    startSymptomCheck: () => intake.startVoice(),
    canStartSymptomCheck: () => page === "waiting" && intake.canStartVoice(),
    muteButton: $("mute"),
    cameraButton: $("camera"),
    captionShow: $("caption-show"),
    captionLog: $("caption-log"),
    helpPanel: $("commands-help"),
    helpBody: $("commands-help-body"),
    endCall: leave,
  });
  $("try-again").addEventListener("click", openDevices);
  $("join-without-devices").addEventListener("click", joinWaitingRoom);
  $("join-waiting-room").addEventListener("click", joinWaitingRoom);
  $("reconnect").addEventListener("click", () => {
    $("reconnect-actions").hidden = true;
    signaling?.connect();
  });
  for (const button of document.querySelectorAll("[data-leave]")) {
    button.addEventListener("click", () => leave());
  }

  // A link pasted into the address bar of this open page changes only the fragment.
  window.addEventListener("hashchange", () => {
    if (signaling || !new URLSearchParams(location.hash.slice(1)).has("invite")) return;
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
    startVoiceGuide();
    return;
  }
  // No link in the address: maybe a reload of a visit this browser already opened.
  try {
    visit = await api("/api/patient/visit");
  } catch {
    linkProblem("This page needs the visit link your clinic sent you.");
    return;
  }
  describeVisit();
  loadConsent();
  if (visit.status === "ended" || visit.status === "cancelled") {
    finish(visit.status === "ended" ? "This visit is over." : "This visit was cancelled.");
    return;
  }
  startDeviceCheck();
  startVoiceGuide();
}

start();
