// The clinician's call page: the waiting room with Admit / Deny, the video call,
// chat, captions (with the patient's consent to saving them) and ending the call.

import { announce, formatDateTime, showView } from "./a11y.js";
import { ApiError, api, fetchIceServers } from "./api.js";
import { CallSession, stopStream } from "./call.js";
import { RemoteTiles, confirmWith, mountChat, mountMediaControls } from "./call-ui.js";
import { mountCaptions } from "./captions.js";
import { openLocalMedia } from "./devices.js";
import { openIntakeSummary } from "./intake-summary.js";
import { CLOSE_MESSAGES, SignalingClient } from "./signaling.js";
import { $ } from "./dom.js";

const visitId = new URLSearchParams(location.search).get("visit");
const CONSENT_POLL_MS = 10000;
const CONSENT_TEXT = {
  granted: "Transcript: saved with consent",
  declined: "Transcript: not saved (the patient said no)",
  not_asked: "Transcript: not saved (the patient has not answered)",
};

const names = new Map(); // peer id -> display name
let signaling = null;
let call = null;
let tiles = null;
let localStream = null;
let iceServers = [];
let captions = null; // {view, speech} of captions.js
let consentState = null;
let consentTimer = null;
let ended = false;
let reconnecting = false; // a dropped connection is being resumed

function nameOf(peerId) {
  return names.get(peerId) || "The patient";
}

function problem(text, { signIn = false } = {}) {
  clearInterval(consentTimer);
  captions?.speech.close();
  $("problem-text").textContent = text;
  if (signIn) {
    const link = document.createElement("a");
    link.href = "/clinician";
    link.textContent = "Sign in";
    $("problem-text").append(" ", link);
  }
  showView("problem");
}

// --- the waiting room list ---------------------------------------------------------------

function waitingItem(peerId) {
  return $("waiting-list").querySelector(`li[data-peer-id="${CSS.escape(peerId)}"]`);
}

function updateWaitingEmpty() {
  $("waiting-empty").hidden = $("waiting-list").children.length > 0;
}

function actionButton(label, name, className, handler) {
  const button = document.createElement("button");
  button.type = "button";
  if (className) button.className = className;
  button.append(label);
  const who = document.createElement("span");
  who.className = "visually-hidden";
  who.textContent = ` ${name}`;
  button.append(who);
  button.addEventListener("click", handler);
  return button;
}

function addWaiting(peer) {
  if (waitingItem(peer.peer_id)) return;
  const item = document.createElement("li");
  item.dataset.peerId = peer.peer_id;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = peer.name;
  item.append(
    who,
    actionButton("Admit", peer.name, "", () => admit(peer.peer_id)),
    actionButton("Deny", peer.name, "secondary", () => deny(peer.peer_id)),
  );
  $("waiting-list").append(item);
  updateWaitingEmpty();
}

function removeWaiting(peerId) {
  const item = waitingItem(peerId);
  if (!item) return;
  const hadFocus = item.contains(document.activeElement);
  item.remove();
  updateWaitingEmpty();
  if (hadFocus) focusWaitingHeading();
}

// Keep keyboard users in the same place instead of dropping focus to the page.
function focusWaitingHeading() {
  const heading = $("waiting-heading");
  heading.setAttribute("tabindex", "-1");
  heading.focus();
}

function admit(peerId) {
  if (!signaling.admit(peerId)) {
    announce("Not connected. Wait a moment and try again.");
    return;
  }
  const item = waitingItem(peerId);
  // A disabled button loses the focus to the page: move it to the panel first.
  if (item?.contains(document.activeElement)) focusWaitingHeading();
  for (const button of item?.querySelectorAll("button") || []) button.disabled = true;
  announce(`Admitting ${nameOf(peerId)}…`);
}

async function deny(peerId) {
  $("deny-dialog-name").textContent = nameOf(peerId);
  if (!(await confirmWith($("deny-dialog")))) return;
  if (signaling.deny(peerId, "The clinician could not admit you to this visit.")) {
    announce(`${nameOf(peerId)} was turned away.`);
  } else {
    announce("Not connected. Wait a moment and try again.");
  }
}

// --- the patient's consent to saving the captions ---------------------------------------

// The consent API has no push, so the page asks when someone joins and every little while.
async function refreshConsent() {
  let answer;
  try {
    answer = await api(`/api/visits/${encodeURIComponent(visitId)}/consent`);
  } catch {
    return; // keep showing the last known answer
  }
  if (ended || answer.state === consentState) return;
  const element = $("consent-state");
  element.textContent = CONSENT_TEXT[answer.state] || CONSENT_TEXT.not_asked;
  element.dataset.state = answer.state;
  // A live region of its own (not the page's status line, which it would overwrite),
  // made live after the first answer: changes during the visit are read out, not the load.
  if (consentState === null) element.setAttribute("aria-live", "polite");
  consentState = answer.state;
}

function watchConsent() {
  refreshConsent();
  consentTimer = setInterval(refreshConsent, CONSENT_POLL_MS);
}

// Our own speech is captioned once somebody else is in the call (not while we wait).
function startSpeechCaptions() {
  captions.speech.start({ visitId, stream: localStream, iceServers });
}

// --- signaling events ----------------------------------------------------------------------

function notePeer(peer) {
  names.set(peer.peer_id, peer.name);
  call.notePeer(peer);
  tiles.setName(peer.peer_id, peer.name);
}

function onWelcome(welcome) {
  $("waiting-list").replaceChildren();
  for (const peer of welcome.peers) {
    notePeer(peer);
    if (peer.state === "waiting") addWaiting(peer);
    else {
      call.connectTo(peer.peer_id);
      startSpeechCaptions();
    }
  }
  updateWaitingEmpty();
  call.announceMediaState();
  const waiting = welcome.peers.filter((p) => p.state === "waiting").length;
  const connected = reconnecting ? "Reconnected." : "Connected.";
  reconnecting = false;
  announce(
    waiting === 0
      ? `${connected} Nobody is waiting yet.`
      : `${connected} ${waiting} waiting to be admitted.`,
  );
}

function onPeerJoined({ peer }) {
  notePeer(peer);
  if (peer.state === "waiting") {
    addWaiting(peer);
    announce(`${peer.name} is waiting to be admitted.`);
  } else {
    removeWaiting(peer.peer_id);
    call.connectTo(peer.peer_id);
    startSpeechCaptions();
    refreshConsent();
    announce(`${peer.name} joined the call.`);
  }
}

function onPeerLeft({ peer, reason }) {
  removeWaiting(peer.peer_id);
  call.drop(peer.peer_id);
  const why = { left: "left", denied: "was turned away", expired: "lost the connection" };
  if (reason !== "replaced") announce(`${peer.name} ${why[reason] || "left"}.`);
}

function onPresence({ peer_id: peerId, online }) {
  if (online) {
    call.peerBack(peerId);
    announce(`${nameOf(peerId)} is back.`);
  } else {
    announce(`${nameOf(peerId)} lost the connection. Waiting for them to come back.`);
  }
}

function finish(text) {
  if (ended) return;
  ended = true;
  call?.close();
  tiles?.clear();
  clearInterval(consentTimer);
  captions?.speech.close();
  captions?.view.clearPartials();
  stopStream(localStream);
  $("local-video").srcObject = null;
  signaling?.close();
  $("ended-text").textContent = text;
  showView("ended");
  announce("The visit has ended.");
}

function onClosed({ code }) {
  if (ended) return;
  if (code === 4410) finish("This visit is closed.");
  else if (code === 4401) problem(CLOSE_MESSAGES[4401], { signIn: true });
  else if (code === 4403 || code === 4409) problem(CLOSE_MESSAGES[code]);
  else announce(`${CLOSE_MESSAGES[code] || "The connection was lost."} Reload the page to reconnect.`);
}

function connectSignaling() {
  signaling = new SignalingClient(visitId);
  call = new CallSession({
    signaling,
    localStream,
    iceServers,
    onRemote: (peerId, stream) => {
      tiles.show(peerId, stream);
      $("no-remote").hidden = true;
    },
    onRemoteGone: (peerId) => {
      tiles.remove(peerId);
      $("no-remote").hidden = tiles.tiles.size > 0;
    },
    onConnectionState: (peerId, state) => {
      tiles.setConnectionState(peerId, state);
      if (state === "connected") announce(`Video connected with ${nameOf(peerId)}.`);
      if (state === "failed") announce(`The video link to ${nameOf(peerId)} failed; retrying.`);
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
    .on("peer_joined", onPeerJoined)
    .on("peer_left", onPeerLeft)
    .on("presence", onPresence)
    .on("media_state", (m) => tiles.setMediaState(m.peer_id, m.audio, m.video))
    .on("call_ended", (m) =>
      finish(m.by === signaling.peerId ? "You ended the visit." : "The call was ended."),
    )
    .on("status", onStatus)
    .on("error", (m) => {
      if (!["unknown_peer", "peer_unavailable"].includes(m.code)) announce(m.message);
      if (m.code === "not_waiting") {
        for (const button of $("waiting-list").querySelectorAll("button")) button.disabled = false;
      }
    })
    .on("reconnecting", () => {
      reconnecting = true;
      announce("Reconnecting…");
    })
    .on("closed", onClosed);
  mountChat({ form: $("chat-form"), input: $("chat-input"), log: $("chat-log"), signaling });
  captions = mountCaptions({ signaling });
  signaling.connect();
}

// An urgent intake interrupts (role="alert"); shown once, however many flags follow.
function showUrgentIntake() {
  if ($("urgent-intake")) return;
  const alert = document.createElement("div");
  alert.id = "urgent-intake";
  alert.className = "urgent-alert";
  alert.setAttribute("role", "alert");
  const text = document.createElement("p");
  text.textContent = "Urgent: the patient's answers need attention now";
  const read = document.createElement("button");
  read.type = "button";
  read.textContent = "Read intake summary";
  read.addEventListener("click", () => openIntakeSummary(visitId, { opener: read }));
  alert.append(text, read);
  $("status").after(alert);
}

function onStatus(message) {
  if (message.event === "urgent_intake") showUrgentIntake();
  else if (message.detail) announce(message.detail);
}

async function endCall() {
  if (!(await confirmWith($("end-dialog")))) return;
  if (!signaling.endCall()) announce("Not connected. Wait a moment and try again.");
}

async function start() {
  if (!visitId) {
    problem("No visit was chosen. Open a visit from today's list.");
    return;
  }
  let visit;
  try {
    visit = await api(`/api/visits/${encodeURIComponent(visitId)}`);
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 401) {
      problem("Please sign in first.", { signIn: true });
    } else if (failure instanceof ApiError && failure.status === 404) {
      problem("There is no such visit among yours.");
    } else {
      problem(failure.message);
    }
    return;
  }
  const label = visit.patient_label || "Unnamed patient";
  $("visit-summary").textContent = `${label}, scheduled ${formatDateTime(visit.scheduled_at)}`;
  if (visit.status === "ended" || visit.status === "cancelled") {
    finish(visit.status === "ended" ? "This visit has ended." : "This visit was cancelled.");
    return;
  }
  tiles = new RemoteTiles($("remote-tiles"), $("play-sound"));
  mountMediaControls({ muteButton: $("mute"), cameraButton: $("camera"), getCall: () => call });
  $("end-call").addEventListener("click", endCall);
  let media;
  [iceServers, media] = await Promise.all([fetchIceServers(), openLocalMedia()]);
  localStream = media.stream;
  if (localStream) $("local-video").srcObject = localStream;
  if (media.problem) {
    $("device-problem").textContent = `${media.problem.title} ${media.problem.text}`;
    $("device-problem").hidden = false;
  }
  showView("call", { focus: false });
  connectSignaling();
  watchConsent();
}

start();
