// @ts-check
// The assistant data channel's message types, as the server defines them (voice/
// peer_messages.py for the peer's own, telehealth/assistant/channel_messages.py for the
// app's; docs/protocol.md describes every field). tests/telehealth/test_protocol_js.py
// compares this module with the Python models, so they cannot drift.

/** What a page may send: `subscribe` always, the others to the voice navigator. */
export const PAGE_MESSAGES = Object.freeze(["subscribe", "page", "say", "ask", "perform"]);

/** Events a page receives only after subscribing to them ({type: "subscribe", events}). */
export const EVENT_MESSAGES = Object.freeze([
  "partial", "final", "not_understood", "audio_dropped", "speaking", "spoken",
]);

/** What the server sends unasked: the app's messages, and `error` for a refused message. */
export const SERVER_MESSAGES = Object.freeze([
  "error", "command", "answer", "voice_preferences", "listening", "hint", "intake_turn",
]);

/** The largest page message, in characters of JSON text. */
export const MAX_PAGE_MESSAGE_CHARS = 4096;
