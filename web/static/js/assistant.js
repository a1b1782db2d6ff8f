// @ts-check
// The second WebRTC connection of a call: this participant's microphone to the server's
// speech assistant (telehealth/api/assistant.py, voice/peer.py). The server recognizes the
// speech (captions reach everyone through the signaling websocket), reports what it heard
// on the "assistant" data channel, and may speak prompts on its return audio track.

import { ApiError, api } from "./api.js";
import { EVENT_MESSAGES, MAX_PAGE_MESSAGE_CHARS, PAGE_MESSAGES } from "./assistant-protocol.js";
import { Emitter } from "./emitter.js";

const GATHER_TIMEOUT_MS = 5000; // the server does not trickle: send every candidate at once
const OFFER_TIMEOUT_MS = 25000; // the server may still be loading its speech model
const DISCONNECTED_GRACE_MS = 8000; // "disconnected" often heals by itself
const MAX_BACKOFF_MS = 30000;
const MAX_ATTEMPTS = 6; // failed attempts in a row before giving up

/**
 * Answers after which trying again cannot help (401 signed out, 403, 409 closed, 422).
 * @type {ReadonlySet<number>}
 */
const FINAL_STATUSES = new Set([400, 401, 403, 404, 409, 422]);

/**
 * Wait until ICE gathering is complete, or `timeoutMs` passed (then use what we have).
 * @param {RTCPeerConnection} pc
 * @param {number} timeoutMs
 * @returns {Promise<void>}
 */
function iceGatheringDone(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/**
 * One participant's connection to the speech assistant.
 *
 * `track` is the microphone track the call sends (the same object, so muting it mutes
 * this too), `audio` an <audio> element for the assistant's spoken prompts. Handlers:
 * `on(type, fn)` for every data-channel message by its type (assistant-protocol.js; the
 * server's events "partial", "final", "speaking"... come only after `subscribe(events)`),
 * and for events of the connection itself: "state" ({state}: connecting, connected, retrying, stopped, closed),
 * "ready" (the server's answer: {engine, model, language}) and "problem"
 * ({status, detail, language, final}) when the server refuses or the link fails.
 */
export class AssistantConnection {
  #events = new Emitter();
  /** @type {RTCPeerConnection | null} */
  #pc = null;
  /** @type {RTCDataChannel | null} */
  #channel = null;
  #generation = 0;
  #attempt = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #retryTimer = undefined;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #graceTimer = undefined;
  #closed = false;

  /** @type {string[]} */
  #unsent = [];

  /**
   * @param {object} options
   * @param {string} options.visitId
   * @param {MediaStreamTrack | null} [options.track]
   * @param {MediaStream | null} [options.stream]
   * @param {RTCConfiguration} [options.rtcConfig]
   * @param {HTMLAudioElement | null} [options.audio]
   * @param {string} [options.mode] "captions", "intake" or "commands"
   * @param {string | null} [options.language] null: the server's default
   * @param {() => Record<string, unknown>} [options.offerFields]
   */
  constructor({
    visitId, track, stream, rtcConfig, audio, mode = "captions", language = null, offerFields,
  }) {
    this.visitId = visitId;
    this.track = track;
    this.stream = stream || (track ? new MediaStream([track]) : null);
    this.rtcConfig = rtcConfig || {};
    this.audio = audio || null;
    this.mode = mode;
    this.language = language || null;
    // More fields for each offer, asked afresh on every (re)connection: () => object.
    this.offerFields = offerFields || (() => ({}));
    this.state = "idle";
    /** @type {{ engine: string, model: string, language: string } | null} */
    this.answer = null;
  }

  /**
   * Call `handler` with every event of `type`; chainable.
   * @param {string} type
   * @param {(detail: any) => void} handler
   * @returns {this}
   */
  on(type, handler) {
    this.#events.on(type, handler);
    return this;
  }

  /**
   * @param {string} type
   * @param {unknown} detail
   */
  #emit(type, detail) {
    this.#events.emit(type, detail);
  }

  /** @param {string} state */
  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.#emit("state", { state });
  }

  /** The RTCPeerConnection in use (for tests and diagnostics), or null. */
  get pc() {
    return this.#pc;
  }

  /** Connect (again); a connection already open is replaced. */
  open() {
    this.#closed = false;
    this.#attempt = 0;
    this.#connect();
  }

  /**
   * Send a message (one of PAGE_MESSAGES) to the assistant on the data channel; kept (at
   * most 16) until the channel opens. Messages of a connection that fails are not re-sent
   * on the next one. A message the server would refuse is not sent at all.
   * @param {{ type: string } & Record<string, unknown>} message
   */
  send(message) {
    if (!PAGE_MESSAGES.includes(message.type)) {
      throw new TypeError(`not an assistant message: ${message.type}`);
    }
    const text = JSON.stringify(message);
    if (text.length > MAX_PAGE_MESSAGE_CHARS) throw new RangeError("assistant message too long");
    if (this.#channel && this.#channel.readyState === "open") this.#channel.send(text);
    else if (this.#unsent.length < 16) this.#unsent.push(text);
  }

  /**
   * Receive these server events (EVENT_MESSAGES) from now on, and no others; each new
   * connection starts with none, so a page subscribes again on "ready".
   * @param {string[]} events
   */
  subscribe(events) {
    const unknown = events.filter((type) => !EVENT_MESSAGES.includes(type));
    if (unknown.length) throw new TypeError(`not assistant events: ${unknown.join(", ")}`);
    this.send({ type: "subscribe", events });
  }

  /**
   * Speak another language: reconnect with it (null: the server's default).
   * @param {string | null} language
   */
  setLanguage(language) {
    this.language = language || null;
    if (!this.#closed) this.open();
  }

  /** Stop for good: no more reconnecting. */
  close() {
    this.#closed = true;
    this.#teardown();
    this.#setState("closed");
  }

  #teardown() {
    this.#generation += 1;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#graceTimer);
    this.#retryTimer = undefined;
    this.#graceTimer = undefined;
    if (this.#channel) this.#channel.close();
    if (this.#pc) this.#pc.close();
    this.#channel = null;
    this.#pc = null;
    this.#unsent = [];
    if (this.audio) this.audio.srcObject = null;
  }

  async #connect() {
    this.#teardown();
    const generation = this.#generation;
    const current = () => generation === this.#generation && !this.#closed;
    this.#setState("connecting");
    const pc = new RTCPeerConnection(this.rtcConfig);
    this.#pc = pc;
    if (this.track && this.stream) pc.addTrack(this.track, this.stream);
    else pc.addTransceiver("audio", { direction: "recvonly" });
    // Created before the offer, so the offer carries the data channel (SCTP) section.
    const channel = pc.createDataChannel("assistant");
    this.#channel = channel;
    channel.addEventListener("message", (event) => {
      if (current()) this.#receive(event.data);
    });
    channel.addEventListener("open", () => {
      if (!current()) return;
      for (const text of this.#unsent.splice(0)) channel.send(text);
    });
    channel.addEventListener("close", () => {
      if (current()) this.#lost("the assistant closed the connection");
    });
    pc.addEventListener("track", ({ track }) => {
      if (!current() || !this.audio) return;
      this.audio.srcObject = new MediaStream([track]);
      this.audio.play().catch(() => {}); // prompts only; autoplay may wait for a click
    });
    pc.addEventListener("connectionstatechange", () => {
      if (current()) this.#onConnectionState(pc.connectionState);
    });
    let answer;
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await iceGatheringDone(pc, GATHER_TIMEOUT_MS);
      if (!current() || !pc.localDescription) return;
      /** @type {Record<string, unknown>} */
      const body = {
        ...this.offerFields(),
        sdp: pc.localDescription.sdp,
        type: "offer",
        mode: this.mode,
      };
      if (this.language) body.language = this.language;
      answer = await api(`/api/assistant/${encodeURIComponent(this.visitId)}/offer`, {
        method: "POST",
        body,
        timeoutMs: OFFER_TIMEOUT_MS,
      });
      if (!current()) return;
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    } catch (error) {
      if (!current()) return;
      const status = error instanceof ApiError ? error.status : 0;
      const detail = error instanceof Error ? error.message : String(error);
      this.#failed(status, detail, FINAL_STATUSES.has(status));
      return;
    }
    this.answer = { engine: answer.engine, model: answer.model, language: answer.language };
    this.#emit("ready", this.answer);
  }

  /** @param {unknown} data */
  #receive(data) {
    if (typeof data !== "string") return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message && typeof message.type === "string") this.#emit(message.type, message);
  }

  /** @param {RTCPeerConnectionState} state */
  #onConnectionState(state) {
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    if (state === "connected") {
      this.#attempt = 0;
      this.#setState("connected");
    } else if (state === "failed" || state === "closed") {
      this.#lost(`the connection ${state}`);
    } else if (state === "disconnected") {
      this.#graceTimer = setTimeout(() => this.#lost("the connection was lost"), DISCONNECTED_GRACE_MS);
    }
  }

  /** @param {string} detail */
  #lost(detail) {
    this.#failed(0, detail, false);
  }

  /**
   * @param {number} status the HTTP status of the refusal; 0: the link failed
   * @param {string} detail
   * @param {boolean} final
   */
  #failed(status, detail, final) {
    this.#teardown();
    const giveUp = final || this.#attempt >= MAX_ATTEMPTS;
    this.#emit("problem", { status, detail, language: this.language, final: giveUp });
    if (giveUp) {
      this.#setState("stopped");
      return;
    }
    // A busy server (503) gets longer pauses than a dropped link.
    const base = status === 503 ? 5000 : 1000;
    const delay = Math.min(MAX_BACKOFF_MS, base * 2 ** this.#attempt);
    this.#attempt += 1;
    this.#setState("retrying");
    this.#retryTimer = setTimeout(() => {
      if (!this.#closed) this.#connect();
    }, delay * (0.75 + Math.random() * 0.5));
  }
}
