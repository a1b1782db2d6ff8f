// The clinician's call page: the waiting room with Admit / Deny, the video call,
// chat, captions (with the patient's consent to saving them) and ending the call.

import { announce, formatDateTime, showView } from "./a11y.js";
import { ApiError, api, fetchRtcConfig } from "./api.js";
import {
  bindShortcuts, getAction, loadActions, registerAction, setConfirmer,
} from "./actions.js";
import { stopStream } from "./call.js";
import { CallPage } from "./call-page.js";
import { confirmWith, mountMediaControls } from "./call-ui.js";
import { openLocalMedia } from "./devices.js";
import { openIntakeSummary } from "./intake-summary.js";
import { mountPatientLink } from "./patient-link.js";
import { CLOSE, CLOSE_MESSAGES } from "./protocol.js";
import { $, viewHidden } from "./dom.js";
import { typedNameNote } from "./visit-status.js";
import { waitingList } from "./waiting-list.js";

const visitId = new URLSearchParams(location.search).get("visit");
const CONSENT_POLL_MS = 10000;
const CONSENT_TEXT = {
  granted: "Transcript: saved with consent",
  declined: "Transcript: not saved (the patient said no)",
  not_asked: "Transcript: not saved (the patient has not answered)",
};

let callPage = null; // call-page.js
let localStream = null;
let rtcConfig = {};
let consentState = null;
let consentTimer = null;
let ended = false;
let scheduledLabel = ""; // the label the clinic gave the visit's patient

const nameOf = (peerId) => callPage.nameOf(peerId);
// The name shown is what the patient typed; the role and the scheduled label come from the
// server, so a typed name cannot pass for staff or for somebody else.
function describePeer(peer) {
  const role = peer.role === "patient" ? "Patient" : peer.role;
  return scheduledLabel ? `${role}, scheduled as ${scheduledLabel}` : role;
}
const waitingRoom = waitingList({
  admit: (peerId) => admit(peerId),
  deny: (peerId) => deny(peerId),
  describe: describePeer,
});

function problem(text, { signIn = false } = {}) {
  clearInterval(consentTimer);
  callPage?.captions.speech.close();
  $("problem-text").textContent = text;
  if (signIn) {
    const link = document.createElement("a");
    link.href = "/clinician";
    link.textContent = "Sign in";
    $("problem-text").append(" ", link);
  }
  showView("problem");
}

// --- admitting and turning away -----------------------------------------------------------

function admit(peerId) {
  if (!callPage.signaling.admit(peerId)) {
    announce("Not connected. Wait a moment and try again.");
    return;
  }
  const item = waitingRoom.item(peerId);
  // A disabled button loses the focus to the page: move it to the panel first.
  if (item?.contains(document.activeElement)) waitingRoom.focusHeading();
  for (const button of item?.querySelectorAll("button") || []) button.disabled = true;
  announce(`Admitting ${nameOf(peerId)}…`);
}

async function deny(peerId) {
  $("deny-dialog-name").textContent = nameOf(peerId);
  if (!(await confirmWith($("deny-dialog")))) return;
  if (callPage.signaling.deny(peerId, "The clinician could not admit you to this visit.")) {
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
const startSpeechCaptions = () => callPage.startSpeechCaptions(visitId);

// --- signaling events ----------------------------------------------------------------------

function onWelcome(welcome) {
  $("waiting-list").replaceChildren();
  for (const peer of welcome.peers) {
    callPage.notePeer(peer);
    if (peer.state === "waiting") waitingRoom.add(peer);
    else {
      callPage.call.connectTo(peer.peer_id);
      startSpeechCaptions();
    }
  }
  waitingRoom.updateEmpty();
  callPage.call.announceMediaState();
  const waiting = welcome.peers.filter((p) => p.state === "waiting").length;
  const connected = callPage.connectedText("Connected.");
  announce(
    waiting === 0
      ? `${connected} Nobody is waiting yet.`
      : `${connected} ${waiting} waiting to be admitted.`,
  );
}

function onPeerJoined({ peer }) {
  callPage.notePeer(peer);
  if (peer.state === "waiting") {
    waitingRoom.add(peer);
    announce(`${peer.name} is waiting to be admitted.`);
  } else {
    waitingRoom.remove(peer.peer_id);
    callPage.call.connectTo(peer.peer_id);
    startSpeechCaptions();
    refreshConsent();
    announce(`${peer.name} joined the call.`);
  }
}

function onPeerLeft({ peer, reason }) {
  waitingRoom.remove(peer.peer_id);
  const why = { left: "left", denied: "was turned away", expired: "lost the connection" };
  if (reason !== "replaced") announce(`${peer.name} ${why[reason] || "left"}.`);
}

function onPresence({ peer_id: peerId, online }) {
  if (online) {
    announce(`${nameOf(peerId)} is back.`);
  } else {
    announce(`${nameOf(peerId)} lost the connection. Waiting for them to come back.`);
  }
}

function finish(text) {
  if (ended) return;
  ended = true;
  callPage?.finish();
  clearInterval(consentTimer);
  stopStream(localStream);
  $("local-video").srcObject = null;
  $("ended-text").textContent = text;
  showView("ended");
  announce("The visit has ended.");
}

function onClosed({ code }) {
  if (ended) return;
  if (code === CLOSE.VISIT_CLOSED) finish("This visit is closed.");
  else if (code === CLOSE.UNAUTHENTICATED) problem(CLOSE_MESSAGES[code], { signIn: true });
  else if (code === CLOSE.FORBIDDEN || code === CLOSE.REPLACED) problem(CLOSE_MESSAGES[code]);
  else announce(`${CLOSE_MESSAGES[code] || "The connection was lost."} Reload the page to reconnect.`);
}

function connectSignaling() {
  callPage = new CallPage({
    visitId,
    localStream,
    rtcConfig,
    texts: {
      otherName: "The patient",
      connected: (name) => `Video connected with ${name}.`,
      failed: (name) => `The video link to ${name} failed; retrying.`,
    },
    hooks: { remotesChanged: (remotes) => ($("no-remote").hidden = remotes > 0) },
  });
  callPage
    .on("welcome", onWelcome)
    .on("peer_joined", onPeerJoined)
    .on("peer_left", onPeerLeft)
    .on("presence", onPresence)
    .on("call_ended", (m) =>
      finish(m.by === callPage.signaling.peerId ? "You ended the visit." : "The call was ended."),
    )
    .on("status", onStatus)
    .on("error", (m) => {
      if (!["unknown_peer", "peer_unavailable"].includes(m.code)) announce(m.message);
      if (m.code === "not_waiting") {
        for (const button of $("waiting-list").querySelectorAll("button")) button.disabled = false;
      }
    })
    .on("closed", onClosed);
  callPage.connect();
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

// The patient opened their link on another device: the earlier session is over, and the
// new one appears in the waiting room (or comes back into the call once admitted).
function showRejoined(text) {
  let note = $("patient-rejoined");
  if (!note) {
    note = document.createElement("p");
    note.id = "patient-rejoined";
    note.className = "hint";
    $("status").after(note);
  }
  note.textContent = text;
  announce(text);
}

function onStatus(message) {
  if (message.event === "urgent_intake") showUrgentIntake();
  else if (message.event === "patient_rejoined") showRejoined(message.detail || "");
  else if (message.detail) announce(message.detail);
}

async function endCall() {
  if (!(await confirmWith($("end-dialog")))) return;
  if (!callPage?.signaling.endCall()) announce("Not connected. Wait a moment and try again.");
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
  scheduledLabel = label;
  const typed = typedNameNote(visit);
  $("visit-summary").textContent =
    `${label}, scheduled ${formatDateTime(visit.scheduled_at)}${typed ? `. ${typed}.` : ""}`;
  if (visit.status === "ended" || visit.status === "cancelled") {
    finish(visit.status === "ended" ? "This visit has ended." : "This visit was cancelled.");
    return;
  }
  mountMediaControls({
    muteButton: $("mute"), cameraButton: $("camera"), getCall: () => callPage?.call,
  });
  $("end-call").addEventListener("click", endCall);
  mountPatientLink(visitId);
  // The registry's end_call (Alt+X) is the End call button: its own dialog asks first.
  try {
    await loadActions({ page: "call" });
  } catch {
    /* no registry: the buttons still work, the shortcuts wait for a reload */
  }
  if (getAction("end_call")) {
    setConfirmer(() => Promise.resolve(true));
    registerAction("end_call", endCall, { enabled: () => !viewHidden("call") });
  }
  bindShortcuts(document);
  let media;
  [rtcConfig, media] = await Promise.all([fetchRtcConfig(visitId), openLocalMedia()]);
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
