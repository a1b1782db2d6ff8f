// @ts-check
// WebRTC for a visit: one RTCPeerConnection per other peer in the room, negotiated in
// the "perfect negotiation" style (either side may (re)negotiate; the polite side yields
// on a collision), trickle ICE over the signaling connection, and mute/camera toggles
// that tell the room through `media_state`.

import { PeerLink } from "./peer-link.js";

/** @typedef {import("./signaling.js").SignalingClient} SignalingClient */

/**
 * The media side of a visit.
 *
 * `localStream` may be null (no camera or microphone); `onRemote(peerId, stream)` is
 * called when a peer's media arrives or changes, `onRemoteGone(peerId)` when it goes,
 * `onConnectionState(peerId, state)` when a connection's state changes.
 */
export class CallSession {
  /**
   * @param {object} options
   * @param {SignalingClient} options.signaling
   * @param {MediaStream | null} options.localStream
   * @param {RTCConfiguration} [options.rtcConfig]
   * @param {(peerId: string, stream: MediaStream) => void} [options.onRemote]
   * @param {(peerId: string) => void} [options.onRemoteGone]
   * @param {(peerId: string, state: RTCPeerConnectionState) => void} [options.onConnectionState]
   */
  constructor({ signaling, localStream, rtcConfig, onRemote, onRemoteGone, onConnectionState }) {
    this.signaling = signaling;
    this.localStream = localStream;
    this.rtcConfig = rtcConfig || {};
    this.onRemote = onRemote || (() => {});
    this.onRemoteGone = onRemoteGone || (() => {});
    this.onConnectionState = onConnectionState || (() => {});
    /** @type {Map<string, PeerLink>} */
    this.links = new Map();
    /** @type {Map<string, string>} peer id -> role */
    this.roles = new Map();
    this.audio = true;
    this.video = true;
    signaling.on("offer", (m) => this.#onDescription(m.from, "offer", m.sdp));
    signaling.on("answer", (m) => this.#onDescription(m.from, "answer", m.sdp));
    signaling.on("ice", (m) => this.#link(m.from)?.handleCandidate(m.candidate));
  }

  /**
   * Fresh STUN/TURN servers (short-lived TURN credentials): used by every media link made
   * or restarted from now on; links already connected keep their relay.
   * @param {RTCConfiguration} config
   */
  setRtcConfig(config) {
    this.rtcConfig = config;
    for (const link of this.links.values()) link.setRtcConfig(config);
  }

  /**
   * Remember a peer's role (it decides who is polite).
   * @param {{ peer_id: string, role: string }} summary
   */
  notePeer(summary) {
    this.roles.set(summary.peer_id, summary.role);
  }

  // Clinicians never yield; everybody else yields to a clinician, and between two
  // non-clinicians the smaller peer id yields, so exactly one side of a pair is polite.
  /** @param {string} peerId */
  #isPolite(peerId) {
    if (this.signaling.role === "clinician") return false;
    if (this.roles.get(peerId) === "clinician") return true;
    return String(this.signaling.peerId) < String(peerId);
  }

  /** @param {string} peerId */
  #link(peerId) {
    return this.links.get(peerId);
  }

  /** @param {string} peerId */
  #ensureLink(peerId) {
    let link = this.links.get(peerId);
    if (!link) {
      link = new PeerLink({
        peerId,
        polite: this.#isPolite(peerId),
        rtcConfig: this.rtcConfig,
        localStream: this.localStream,
        signaling: this.signaling,
        onTrack: (l) => this.onRemote(l.peerId, l.remoteStream),
        onState: (l) => this.onConnectionState(l.peerId, l.pc.connectionState),
      });
      this.links.set(peerId, link);
      this.#applyTrackState();
    }
    return link;
  }

  /**
   * Start media with a peer; our side makes the first offer.
   * @param {string} peerId
   */
  connectTo(peerId) {
    if (!this.links.has(peerId)) this.#ensureLink(peerId);
  }

  /**
   * A peer's signaling is back after a drop.
   * @param {string} peerId
   */
  peerBack(peerId) {
    this.#link(peerId)?.resendPendingOffer();
  }

  /**
   * @param {string | undefined} peerId
   * @param {"offer" | "answer"} type
   * @param {string} sdp
   */
  async #onDescription(peerId, type, sdp) {
    if (!peerId) return;
    if (type === "answer" && !this.links.has(peerId)) return;
    try {
      await this.#ensureLink(peerId).handleDescription(type, sdp);
    } catch (error) {
      console.warn(`could not apply the ${type} from a peer`, error);
    }
  }

  /**
   * Stop media with a peer that left.
   * @param {string} peerId
   */
  drop(peerId) {
    const link = this.links.get(peerId);
    if (!link) return;
    link.close();
    this.links.delete(peerId);
    this.onRemoteGone(peerId);
  }

  #applyTrackState() {
    if (!this.localStream) return;
    for (const track of this.localStream.getAudioTracks()) track.enabled = this.audio;
    for (const track of this.localStream.getVideoTracks()) track.enabled = this.video;
  }

  /**
   * Mute or unmute the microphone and tell the room.
   * @param {boolean} on
   */
  setAudio(on) {
    this.audio = on;
    this.#applyTrackState();
    this.signaling.mediaState(this.audio, this.video);
  }

  /**
   * Turn the camera on or off and tell the room.
   * @param {boolean} on
   */
  setVideo(on) {
    this.video = on;
    this.#applyTrackState();
    this.signaling.mediaState(this.audio, this.video);
  }

  /** Tell the room our media state if it differs from the default (after a join). */
  announceMediaState() {
    if (!this.audio || !this.video) this.signaling.mediaState(this.audio, this.video);
  }

  /** The first link's connection and remote stream (for tests and diagnostics). */
  get primary() {
    return this.links.values().next().value || null;
  }

  close() {
    for (const peerId of [...this.links.keys()]) this.drop(peerId);
  }
}

/**
 * Stop every track of a stream (ending the call or leaving the page).
 * @param {MediaStream | null | undefined} stream
 */
export function stopStream(stream) {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
}
