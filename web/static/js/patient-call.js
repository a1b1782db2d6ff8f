// The patient's side of the call page (call-page.js): the waiting room's messages, being
// admitted, denied or left, and what each way the connection can close means for them.

import { announce } from "./a11y.js";
import { CallPage } from "./call-page.js";
import { CLOSE, CLOSE_MESSAGES } from "./protocol.js";

/**
 * The patient's CallPage. `hooks`: welcome(message), queue(position, clinicianPresent),
 * admitted(peers), finish(text), linkProblem(text), finished() -> boolean,
 * offerReconnect() (shows the Reconnect button).
 */
export function openPatientCall({ visitId, localStream, rtcConfig, hooks }) {
  const page = new CallPage({
    visitId,
    localStream,
    rtcConfig,
    texts: {
      otherName: "The clinician",
      connected: (name) => `You are connected with ${name}.`,
      failed: () => "The video connection failed; trying again.",
    },
  });
  const nameOf = (peerId) => page.nameOf(peerId);
  const { finish } = hooks;
  return page
    .on("welcome", hooks.welcome)
    .on("queue", (m) => hooks.queue(m.position, m.clinician_present))
    .on("admitted", (m) => hooks.admitted(m.peers))
    .on("peer_joined", ({ peer }) => {
      page.notePeer(peer);
      // Someone new in the room (or the clinician back on a new connection): offer media.
      if (peer.state === "in_room") page.call.connectTo(peer.peer_id);
    })
    .on("peer_left", ({ peer, reason }) => {
      if (reason !== "replaced") announce(`${peer.name} left the call.`);
    })
    .on("presence", ({ peer_id: peerId, online }) => {
      announce(
        online
          ? `${nameOf(peerId)} is back.`
          : `${nameOf(peerId)} lost the connection. Please wait.`,
      );
    })
    .on("denied", (m) => finish(m.reason || "The clinician could not admit you to this visit."))
    .on("call_ended", () => finish("Thank you. The clinician ended the call."))
    .on("bye", ({ reason }) => {
      if (reason === "left") finish("You left the visit.");
      else if (reason === "replaced") finish(CLOSE_MESSAGES[CLOSE.REPLACED]);
      else finish("You were disconnected for too long. Reload this page to join again.");
    })
    .on("status", (m) => m.detail && announce(m.detail))
    .on("closed", ({ code }) => {
      if (hooks.finished()) return;
      if (code === CLOSE.VISIT_CLOSED) finish("This visit is closed.");
      else if (code === CLOSE.UNAUTHENTICATED) {
        hooks.linkProblem("Your visit link has expired. Ask the clinic for a new one.");
      } else if (code === CLOSE.FORBIDDEN) hooks.linkProblem(CLOSE_MESSAGES[code]);
      else if (code === CLOSE.REPLACED || code === CLOSE.OPENED_ELSEWHERE) {
        finish(CLOSE_MESSAGES[code]);
      } else {
        announce(
          `${CLOSE_MESSAGES[code] || "The connection was lost."} Press Reconnect to try again.`,
        );
        hooks.offerReconnect();
      }
    });
}
