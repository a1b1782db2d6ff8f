// @ts-check
// WebRTC for a visit: one RTCPeerConnection per other peer in the room, negotiated in
// the "perfect negotiation" style (either side may (re)negotiate; the polite side yields
// on a collision), trickle ICE over the signaling connection, and mute/camera toggles
// that tell the room through `media_state`.

// The SDP origin line's session id changes only when the other side starts a new
// RTCPeerConnection (a reload, a fresh join): then our old connection is useless.
/** @param {string | undefined} sdp */
function sdpSessionId(sdp) {
  const match = /^o=\S+ (\d+) /m.exec(sdp || "");
  return match ? match[1] : null;
}

/** @typedef {import("./signaling.js").SignalingClient} SignalingClient */

/** The connection to one other peer. */
class PeerLink {
  /**
   * @param {object} options
   * @param {string} options.peerId
   * @param {boolean} options.polite whether we yield when both sides offer at once
   * @param {RTCIceServer[]} options.iceServers
   * @param {MediaStream | null} options.localStream
   * @param {SignalingClient} options.signaling
   * @param {(link: PeerLink) => void} options.onTrack
   * @param {(link: PeerLink) => void} options.onState
   */
  constructor({ peerId, polite, iceServers, localStream, signaling, onTrack, onState }) {
    this.peerId = peerId;
    this.polite = polite;
    this.iceServers = iceServers;
    this.localStream = localStream;
    this.signaling = signaling;
    this.onTrack = onTrack;
    this.onState = onState;
    this.remoteStream = new MediaStream();
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.pc = this.#createPeerConnection();
  }

  /** A new RTCPeerConnection for this peer, with our tracks; the caller makes it current. */
  #createPeerConnection() {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.makingOffer = false;
    this.ignoreOffer = false;
    for (const track of this.remoteStream.getTracks()) this.remoteStream.removeTrack(track);
    for (const kind of ["audio", "video"]) {
      const track = this.localStream
        ? this.localStream.getTracks().find((t) => t.kind === kind)
        : undefined;
      // Without a local device we still want to receive the other side's media.
      if (track && this.localStream) pc.addTrack(track, this.localStream);
      else pc.addTransceiver(kind, { direction: "recvonly" });
    }
    pc.addEventListener("track", ({ track }) => {
      if (this.pc !== pc) return;
      for (const old of this.remoteStream.getTracks()) {
        if (old.kind === track.kind && old !== track) this.remoteStream.removeTrack(old);
      }
      if (!this.remoteStream.getTracks().includes(track)) this.remoteStream.addTrack(track);
      this.onTrack(this);
    });
    pc.addEventListener("negotiationneeded", async () => {
      if (this.pc !== pc) return;
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        if (pc.localDescription) this.signaling.offer(this.peerId, pc.localDescription.sdp);
      } catch (error) {
        console.warn("could not make an offer", error);
      } finally {
        this.makingOffer = false;
      }
    });
    pc.addEventListener("icecandidate", ({ candidate }) => {
      if (this.pc !== pc) return;
      this.signaling.ice(this.peerId, candidate ? candidate.toJSON() : null);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (this.pc !== pc) return;
      if (pc.connectionState === "failed") pc.restartIce();
      this.onState(this);
    });
    return pc;
  }

  /** Start a fresh RTCPeerConnection (the other side started a new one). */
  renew() {
    const old = this.pc;
    this.pc = this.#createPeerConnection();
    old.close();
    this.onState(this);
  }

  /**
   * Apply the other side's offer or answer (and answer an offer).
   * @param {"offer" | "answer"} type
   * @param {string} sdp
   */
  async handleDescription(type, sdp) {
    const pc = this.pc;
    if (type === "offer" && pc.remoteDescription) {
      const known = sdpSessionId(pc.remoteDescription.sdp);
      if (known !== null && known !== sdpSessionId(sdp)) this.renew();
    }
    const current = this.pc;
    const collision =
      type === "offer" && (this.makingOffer || current.signalingState !== "stable");
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    if (type === "answer" && current.signalingState !== "have-local-offer") return;
    await current.setRemoteDescription({ type, sdp });
    if (type === "offer") {
      await current.setLocalDescription();
      if (current.localDescription) this.signaling.answer(this.peerId, current.localDescription.sdp);
    }
  }

  /** @param {RTCIceCandidateInit | null} candidate null: the other side has no more */
  async handleCandidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate || undefined);
    } catch (error) {
      if (!this.ignoreOffer) console.warn("could not add an ICE candidate", error);
    }
  }

  /** The other side's signaling came back: resend an offer it may have missed. */
  resendPendingOffer() {
    const pc = this.pc;
    if (pc.signalingState === "have-local-offer" && pc.localDescription) {
      this.signaling.offer(this.peerId, pc.localDescription.sdp);
    }
  }

  close() {
    this.pc.close();
    for (const track of this.remoteStream.getTracks()) this.remoteStream.removeTrack(track);
  }
}

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
   * @param {RTCIceServer[]} [options.iceServers]
   * @param {(peerId: string, stream: MediaStream) => void} [options.onRemote]
   * @param {(peerId: string) => void} [options.onRemoteGone]
   * @param {(peerId: string, state: RTCPeerConnectionState) => void} [options.onConnectionState]
   */
  constructor({ signaling, localStream, iceServers, onRemote, onRemoteGone, onConnectionState }) {
    this.signaling = signaling;
    this.localStream = localStream;
    this.iceServers = iceServers || [];
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
        iceServers: this.iceServers,
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
