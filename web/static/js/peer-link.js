// @ts-check
// The WebRTC connection of a call to one other peer (call.js holds one per peer), in the
// "perfect negotiation" style: either side may (re)negotiate, the polite side yields on a
// collision, and ICE trickles over the signaling connection.

// The SDP origin line's session id changes only when the other side starts a new
// RTCPeerConnection (a reload, a fresh join): then our old connection is useless.
/** @param {string | undefined} sdp */
function sdpSessionId(sdp) {
  const match = /^o=\S+ (\d+) /m.exec(sdp || "");
  return match ? match[1] : null;
}

/** @typedef {import("./signaling.js").SignalingClient} SignalingClient */

/** The connection to one other peer. */
export class PeerLink {
  /**
   * @param {object} options
   * @param {string} options.peerId
   * @param {boolean} options.polite whether we yield when both sides offer at once
   * @param {RTCConfiguration} options.rtcConfig
   * @param {MediaStream | null} options.localStream
   * @param {SignalingClient} options.signaling
   * @param {(link: PeerLink) => void} options.onTrack
   * @param {(link: PeerLink) => void} options.onState
   */
  constructor({ peerId, polite, rtcConfig, localStream, signaling, onTrack, onState }) {
    this.peerId = peerId;
    this.polite = polite;
    this.rtcConfig = rtcConfig;
    this.localStream = localStream;
    this.signaling = signaling;
    this.onTrack = onTrack;
    this.onState = onState;
    this.remoteStream = new MediaStream();
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.pc = this.#createPeerConnection();
  }

  /**
   * Servers for the next ICE gathering (a restart) and the next connection.
   * @param {RTCConfiguration} config
   */
  setRtcConfig(config) {
    this.rtcConfig = config;
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), ...config });
    } catch {
      /* a closed connection: the next one is made with `servers` */
    }
  }

  /** A new RTCPeerConnection for this peer, with our tracks; the caller makes it current. */
  #createPeerConnection() {
    const pc = new RTCPeerConnection(this.rtcConfig);
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
