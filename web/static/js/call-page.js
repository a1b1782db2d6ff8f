// @ts-check
// The call page controller shared by the patient's page (join.js) and the clinician's
// (clinician-call.js): the signaling connection, the media links and their tiles, the
// names of the others, chat, captions, the events every call page handles the same way,
// and finishing. What differs by role (waiting room, admitting, the words said) comes in
// as hooks and texts, and each page adds its own signaling handlers with `on`.
//
//   const page = new CallPage({ visitId, localStream, rtcConfig, texts, hooks });
//   page.on("welcome", onWelcome).on("closed", onClosed);
//   page.connect();

import { announce } from "./a11y.js";
import { fetchRtcConfig } from "./api.js";
import { CallSession } from "./call.js";
import { RemoteTiles, mountChat } from "./call-ui.js";
import { mountCaptions } from "./captions.js";
import { $ } from "./dom.js";
import { SignalingClient } from "./signaling.js";

/**
 * @typedef {object} CallTexts  What this role's page says.
 * @property {string} otherName  Who the others are before their names arrive.
 * @property {(name: string) => string} connected  Video is connected with `name`.
 * @property {(name: string) => string} failed  The video link to `name` failed.
 *
 * @typedef {object} CallHooks  What this role's page does besides.
 * @property {(remotes: number) => void} [remotesChanged]  A remote video came or went.
 */

export class CallPage {
  /**
   * @param {{ visitId: string, localStream: MediaStream | null, rtcConfig: RTCConfiguration,
   *   texts: CallTexts, hooks?: CallHooks }} options
   */
  constructor({ visitId, localStream, rtcConfig, texts, hooks = {} }) {
    this.texts = texts;
    /** @type {Map<string, string>} peer id -> display name */
    this.names = new Map();
    this.finished = false;
    this.reconnecting = false; // a dropped connection is being resumed
    this.localStream = localStream;
    this.signaling = new SignalingClient(visitId);
    this.tiles = new RemoteTiles($("remote-tiles"), /** @type {HTMLButtonElement} */ ($("play-sound")));
    const remotesChanged = () => hooks.remotesChanged?.(this.tiles.tiles.size);
    this.call = new CallSession({
      signaling: this.signaling,
      localStream,
      rtcConfig,
      onRemote: (peerId, stream) => {
        this.tiles.show(peerId, stream);
        remotesChanged();
      },
      onRemoteGone: (peerId) => {
        this.tiles.remove(peerId);
        remotesChanged();
      },
      onConnectionState: (peerId, state) => {
        this.tiles.setConnectionState(peerId, state);
        if (state === "connected") announce(texts.connected(this.nameOf(peerId)));
        if (state === "failed") announce(texts.failed(this.nameOf(peerId)));
      },
    });
    this.#exposeForTests();
    this.signaling
      .on("media_state", (m) => this.tiles.setMediaState(m.peer_id, m.audio, m.video))
      .on("peer_left", ({ peer }) => this.call.drop(peer.peer_id))
      .on("presence", ({ peer_id: peerId, online }) => online && this.call.peerBack(peerId))
      .on("reconnecting", () => {
        this.reconnecting = true;
        announce("Reconnecting…");
      });
    mountChat({
      form: /** @type {HTMLFormElement} */ ($("chat-form")),
      input: /** @type {HTMLInputElement} */ ($("chat-input")),
      log: $("chat-log"),
      signaling: this.signaling,
    });
    this.captions = mountCaptions({ signaling: this.signaling });
    this.visitId = visitId;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.iceTimer = undefined;
    this.#refreshIceBefore(rtcConfig);
  }

  // TURN credentials are short-lived (the server's TELEHEALTH_TURN_CREDENTIAL_TTL_S): a relay
  // made with them lasts, but a link made or restarted later needs fresh ones, so they are
  // fetched again half-way through their life.
  /** @param {RTCConfiguration} config */
  #refreshIceBefore(config) {
    const expiries = (config.iceServers || [])
      .map((server) => /^(\d+):/.exec(String(server.username || "")))
      .filter((match) => match !== null)
      .map((match) => Number(match[1]) * 1000);
    if (!expiries.length || this.finished) return;
    const wait = Math.max(30_000, (Math.min(...expiries) - Date.now()) / 2);
    this.iceTimer = setTimeout(async () => {
      if (this.finished) return;
      const fresh = await fetchRtcConfig(this.visitId);
      const renewed = Boolean(fresh.iceServers?.length);
      if (renewed) this.call.setRtcConfig(fresh);
      this.#refreshIceBefore(renewed ? fresh : config);
    }, wait);
  }

  // The browser tests look at the media link through this one hook; it is no part of
  // Window's type, so it is declared here.
  #exposeForTests() {
    const page = this;
    /** @type {Window & { __call?: object }} */ (window).__call = {
      get pc() {
        return page.call.primary ? page.call.primary.pc : null;
      },
      get remoteStream() {
        return page.call.primary ? page.call.primary.remoteStream : null;
      },
      call: page.call,
      signaling: page.signaling,
    };
  }

  /**
   * Also handle signaling messages of `type` (after the shared handling); chainable.
   * @param {string} type
   * @param {(message: any) => void} handler
   * @returns {this}
   */
  on(type, handler) {
    this.signaling.on(type, handler);
    return this;
  }

  connect() {
    this.signaling.connect();
  }

  /** @param {string} peerId */
  nameOf(peerId) {
    return this.names.get(peerId) || this.texts.otherName;
  }

  /**
   * Remember who `peer` is, for tiles, announcements and the media link.
   * @param {{ peer_id: string, name: string, role: string }} peer
   */
  notePeer(peer) {
    this.names.set(peer.peer_id, peer.name);
    this.call.notePeer(peer);
    this.tiles.setName(peer.peer_id, peer.name);
  }

  /**
   * "Reconnected." once after a resumed connection, else `otherwise`.
   * @param {string} otherwise
   */
  connectedText(otherwise) {
    const text = this.reconnecting ? "Reconnected." : otherwise;
    this.reconnecting = false;
    return text;
  }

  /**
   * Caption our own speech (once somebody else is in the call).
   * @param {string} visitId
   */
  startSpeechCaptions(visitId) {
    this.captions.speech.start({
      visitId, stream: this.localStream, rtcConfig: this.call.rtcConfig,
    });
  }

  /** Close media, captions and the connection; false if it was finished already. */
  finish() {
    if (this.finished) return false;
    this.finished = true;
    clearTimeout(this.iceTimer);
    this.call.close();
    this.tiles.clear();
    this.captions.speech.close();
    this.captions.view.clearPartials();
    this.signaling.close();
    return true;
  }
}
