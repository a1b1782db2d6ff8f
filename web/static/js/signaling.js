// @ts-check
// Websocket client of the visit signaling protocol (see signaling/messages.py and
// signaling/server_messages.py): hello with resume, heartbeat, reconnect with backoff,
// and one send helper per client message.

import { Emitter } from "./emitter.js";
import {
  CLOSE, CLOSE_MESSAGES, FINAL_CODES, FINAL_MESSAGES, PROTOCOL_VERSION,
} from "./protocol.js";
import { readResumeToken, writeResumeToken } from "./resume-token.js";

const CONNECT_TIMEOUT_MS = 10000;
const MAX_PING_INTERVAL_MS = 15000;
const MAX_BACKOFF_MS = 10000;
const MAX_ATTEMPTS = 20;

// After these the server will not take the resume token again: forget it.
/** @type {ReadonlySet<number>} */
const FORGET_TOKEN_CODES = new Set([CLOSE.UNAUTHENTICATED, CLOSE.FORBIDDEN, CLOSE.VISIT_CLOSED]);

export { CLOSE_MESSAGES };

/**
 * A visit's signaling connection.
 *
 * Register handlers with `on(type, fn)`: any server message type ("welcome", "queue",
 * "offer", ...), plus "reconnecting" ({attempt, delayMs, code}) and "closed"
 * ({code, reason, final}) which this client emits itself. The resume token from
 * `welcome` is kept in sessionStorage, so a reload or a dropped connection resumes
 * the same place in the visit within the server's grace period.
 */
export class SignalingClient {
  /** @type {string} */
  #visitId;
  #events = new Emitter();
  /** @type {WebSocket | null} */
  #ws = null;
  #stopped = false;
  #finished = false;
  #attempt = 0;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #pingTimer = undefined;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #retryTimer = undefined;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #connectTimer = undefined;
  #lastHeard = 0;
  #intervalMs = MAX_PING_INTERVAL_MS;

  /** @param {string} visitId */
  constructor(visitId) {
    this.#visitId = visitId;
    /** @type {string | null} our peer id in the room, once welcomed */
    this.peerId = null;
    /** @type {string | null} "patient" or "clinician", once welcomed */
    this.role = null;
  }

  /** Whether the websocket is open and joined (a welcome arrived). */
  get connected() {
    return this.#ws !== null && this.#ws.readyState === WebSocket.OPEN && this.peerId !== null;
  }

  /**
   * Call `handler` with every message of `type` (or this client's own events); chainable.
   * Messages are as the server sends them (signaling/server_messages.py).
   * @param {string} type
   * @param {(message: any) => void} handler
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

  connect() {
    this.#stopped = false;
    this.#finished = false;
    this.#attempt = 0;
    this.#open();
  }

  #open() {
    const url = new URL(`/ws/visits/${encodeURIComponent(this.#visitId)}`, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    this.#ws = ws;
    this.peerId = null;
    this.#connectTimer = setTimeout(() => this.#drop(ws, CLOSE.TIMEOUT), CONNECT_TIMEOUT_MS);
    ws.addEventListener("open", () => {
      /** @type {{ type: "hello", version: number, resume_token?: string }} */
      const hello = { type: "hello", version: PROTOCOL_VERSION };
      const token = readResumeToken(this.#visitId);
      if (token) hello.resume_token = token;
      ws.send(JSON.stringify(hello));
    });
    ws.addEventListener("message", (event) => this.#receive(ws, event));
    ws.addEventListener("close", (event) => {
      if (this.#ws !== ws) return; // a socket we already gave up on
      this.#ws = null;
      this.#closed(event.code, event.reason);
    });
  }

  /**
   * @param {WebSocket} ws
   * @param {MessageEvent} event
   */
  #receive(ws, event) {
    if (this.#ws !== ws || typeof event.data !== "string") return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!message || typeof message.type !== "string") return;
    this.#lastHeard = Date.now();
    if (message.type === "welcome") {
      clearTimeout(this.#connectTimer);
      this.#attempt = 0;
      this.peerId = message.peer_id;
      this.role = message.role;
      writeResumeToken(this.#visitId, message.resume_token);
      const seconds = Number(message.ping_interval_s) || 15;
      this.#intervalMs = Math.min(MAX_PING_INTERVAL_MS, Math.max(1000, seconds * 1000));
      this.#startHeartbeat(ws);
    }
    if (FINAL_MESSAGES.has(message.type)) {
      this.#finished = true;
      writeResumeToken(this.#visitId, null);
    }
    this.#emit(message.type, message);
  }

  /** @param {WebSocket} ws */
  #startHeartbeat(ws) {
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => {
      // Nothing heard for well over two intervals (pongs included): the link is dead even
      // if the browser has not noticed yet.
      if (Date.now() - this.#lastHeard > this.#intervalMs * 2.5) {
        this.#drop(ws, CLOSE.TIMEOUT);
        return;
      }
      this.#sendRaw({ type: "ping" });
    }, this.#intervalMs);
  }

  // Abandon a socket that stopped answering and go through the normal close path.
  /**
   * @param {WebSocket} ws
   * @param {number} code
   */
  #drop(ws, code) {
    if (this.#ws !== ws) return;
    this.#ws = null;
    try {
      ws.close();
    } catch {
      /* already closing */
    }
    this.#closed(code, "");
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  #closed(code, reason) {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#connectTimer);
    this.peerId = null;
    const final =
      this.#stopped ||
      this.#finished ||
      FINAL_CODES.has(code) ||
      this.#attempt >= MAX_ATTEMPTS;
    if (final) {
      if (FORGET_TOKEN_CODES.has(code)) writeResumeToken(this.#visitId, null);
      this.#emit("closed", { code, reason, final: true });
      return;
    }
    const delayMs = Math.round(
      Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.#attempt) * (0.75 + Math.random() * 0.5),
    );
    this.#attempt += 1;
    this.#emit("reconnecting", { attempt: this.#attempt, delayMs, code });
    this.#retryTimer = setTimeout(() => {
      if (!this.#stopped) this.#open();
    }, delayMs);
  }

  /** @param {Record<string, unknown>} message */
  #sendRaw(message) {
    const ws = this.#ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  /**
   * Send a message once joined; returns false if the connection is not up.
   * @param {Record<string, unknown>} message
   */
  send(message) {
    return this.peerId !== null && this.#sendRaw(message);
  }

  /** @param {string} peerId */
  admit(peerId) {
    return this.send({ type: "admit", peer_id: peerId });
  }

  /**
   * @param {string} peerId
   * @param {string} [reason]
   */
  deny(peerId, reason) {
    /** @type {{ type: "deny", peer_id: string, reason?: string }} */
    const message = { type: "deny", peer_id: peerId };
    if (reason) message.reason = reason;
    return this.send(message);
  }

  /**
   * @param {string} to
   * @param {string} sdp
   */
  offer(to, sdp) {
    return this.send({ type: "offer", to, sdp });
  }

  /**
   * @param {string} to
   * @param {string} sdp
   */
  answer(to, sdp) {
    return this.send({ type: "answer", to, sdp });
  }

  /**
   * @param {string} to
   * @param {RTCIceCandidateInit | null} candidate
   */
  ice(to, candidate) {
    return this.send({ type: "ice", to, candidate });
  }

  /** @param {string} text */
  chat(text) {
    return this.send({ type: "chat", text });
  }

  /**
   * @param {boolean} audio
   * @param {boolean} video
   */
  mediaState(audio, video) {
    return this.send({ type: "media_state", audio, video });
  }

  /** Leave the visit for good; the server answers with `bye` and closes. */
  leave() {
    this.#finished = true;
    writeResumeToken(this.#visitId, null);
    return this.send({ type: "leave" });
  }

  /** End the call for everybody (clinicians only). */
  endCall() {
    return this.send({ type: "end_call" });
  }

  /** Close without leaving (the server keeps our place for its grace period). */
  close() {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    const ws = this.#ws;
    if (ws !== null) ws.close(CLOSE.NORMAL);
  }
}
