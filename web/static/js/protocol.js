// @ts-check
// The visit signaling protocol's constants, as the server defines them: the version, the
// websocket close codes (telehealth/realtime/socket.py `Close`) and the message types
// (signaling/messages.py, signaling/server_messages.py). tests/telehealth/
// test_protocol_js.py compares this module with the Python definitions, so they cannot drift.

export const PROTOCOL_VERSION = 1;

/** Websocket close codes, by the server's names. */
export const CLOSE = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY: 1008,
  TOO_BIG: 1009,
  SERVER_ERROR: 1011,
  BAD_MESSAGE: 4400,
  UNAUTHENTICATED: 4401,
  FORBIDDEN: 4403,
  TIMEOUT: 4408,
  REPLACED: 4409,
  VISIT_CLOSED: 4410,
  OPENED_ELSEWHERE: 4411,
  SLOW_CONSUMER: 4429,
});

/** What each close code means, in words a person can act on. @type {Record<number, string>} */
export const CLOSE_MESSAGES = Object.freeze({
  [CLOSE.NORMAL]: "The connection was closed.",
  [CLOSE.GOING_AWAY]: "The server is restarting.",
  [CLOSE.POLICY]: "Too many messages were sent; the connection was closed.",
  [CLOSE.TOO_BIG]: "A message was too large; the connection was closed.",
  [CLOSE.SERVER_ERROR]: "The server had a problem.",
  [CLOSE.BAD_MESSAGE]: "The page sent a message the server did not understand.",
  [CLOSE.UNAUTHENTICATED]: "Your session has expired.",
  [CLOSE.FORBIDDEN]: "You cannot join this visit from here.",
  [CLOSE.TIMEOUT]: "The connection was idle for too long.",
  [CLOSE.REPLACED]: "This visit was opened in another window or tab.",
  [CLOSE.VISIT_CLOSED]: "This visit is closed.",
  [CLOSE.OPENED_ELSEWHERE]: "This visit was opened on another device.",
  [CLOSE.SLOW_CONSUMER]: "The connection could not keep up; the connection was closed.",
});

/** Close codes after which reconnecting cannot help. @type {ReadonlySet<number>} */
export const FINAL_CODES = new Set([
  CLOSE.NORMAL,
  CLOSE.BAD_MESSAGE,
  CLOSE.UNAUTHENTICATED,
  CLOSE.FORBIDDEN,
  CLOSE.REPLACED,
  CLOSE.VISIT_CLOSED,
  CLOSE.OPENED_ELSEWHERE,
]);

/** The messages a browser may send. */
export const CLIENT_MESSAGES = Object.freeze([
  "hello", "admit", "deny", "offer", "answer", "ice", "chat", "media_state", "ping", "leave",
  "end_call",
]);

/** The messages the server sends. */
export const SERVER_MESSAGES = Object.freeze([
  "welcome", "queue", "admitted", "denied", "peer_joined", "peer_left", "presence", "offer",
  "answer", "ice", "chat", "media_state", "caption", "status", "pong", "call_ended", "bye",
  "error",
]);

/**
 * Server messages after which the session is over, whatever the close code.
 * @type {ReadonlySet<string>}
 */
export const FINAL_MESSAGES = new Set(["call_ended", "denied", "bye"]);
