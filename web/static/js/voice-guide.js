// Voice guidance on the patient's pages: the speech assistant in commands mode
// (telehealth/assistant/navigator.py) on a microphone track of its own, so muting the
// call never silences "assistant, unmute". The page tells it where the person is and asks
// its questions; every status announcement is spoken too. The assistant names the action a
// command asks for, and the page performs it with the same handler as its button and its
// shortcut (actions.js).
//
//   const guide = new VoiceGuide({ visitId, invite, stream, rtcConfig, audio });
//   guide.start("join");
//   guide.setPage("waiting");
//   const consent = await guide.ask("consent", "yes_no", "May we ...? Say yes or no.");

import { onAnnounce } from "./a11y.js";
import { AssistantConnection } from "./assistant.js";
import { getAction, perform } from "./actions.js";
import { readPref, writePref } from "./prefs.js";

const ENABLED_KEY = "voiceGuidance";
const VOICE_KEY = "voice";

/** Whether the person wants voice guidance (on unless they turned it off). */
export function voiceGuidanceWanted() {
  return readPref(ENABLED_KEY, "on") !== "off";
}

export function rememberVoiceGuidance(on) {
  writePref(ENABLED_KEY, on ? "on" : "off");
}

/** The remembered speaking rate and volume ({rate_wpm, volume}), or {}. */
export function voicePreferences() {
  try {
    const saved = JSON.parse(readPref(VOICE_KEY, "{}"));
    const prefs = {};
    if (Number.isInteger(saved.rate_wpm)) prefs.rate_wpm = saved.rate_wpm;
    if (typeof saved.volume === "number") prefs.volume = saved.volume;
    return prefs;
  } catch {
    return {};
  }
}

export class VoiceGuide {
  #connection = null;
  #question = null; // {id, expects, prompt, resolve, reject}
  #page = "join";
  #inCall = false;
  #unsubscribe = null;
  #connections = 0;

  constructor({ visitId, invite = null, stream, rtcConfig = {}, audio }) {
    this.visitId = visitId;
    this.invite = invite;
    this.stream = stream;
    this.rtcConfig = rtcConfig;
    this.audio = audio;
    this.ready = false;
  }

  /** Connect the microphone to the assistant, starting on `page`. */
  start(page) {
    this.#page = page;
    const track = this.stream?.getAudioTracks()[0];
    if (!track) return false;
    this.#connection = new AssistantConnection({
      visitId: this.visitId,
      track,
      rtcConfig: this.rtcConfig,
      audio: this.audio,
      mode: "commands",
      offerFields: () => ({
        page: this.#page,
        ...(this.invite ? { invite: this.invite } : {}),
        ...voicePreferences(),
      }),
    });
    this.#connection
      .on("ready", () => this.#onReady())
      .on("problem", () => {
        this.ready = false;
      })
      .on("command", (message) => this.#onCommand(message))
      .on("answer", (message) => this.#onAnswer(message))
      .on("voice_preferences", ({ rate_wpm: rate, volume }) => {
        writePref(VOICE_KEY, JSON.stringify({ rate_wpm: rate, volume }));
      })
      .open();
    // Whatever the page announces (role="status") is spoken as well, after what is playing.
    this.#unsubscribe = onAnnounce((text) => this.say(text));
    return true;
  }

  /** The session began (the invite was exchanged): later offers need no invite. */
  signedIn() {
    this.invite = null;
  }

  /** The person is now on `page` (a registry page); an open question is withdrawn. */
  setPage(page, { inCall = page === "call", say } = {}) {
    this.#page = page;
    this.#inCall = inCall;
    this.#withdraw();
    this.#send({ type: "page", page, in_call: inCall, ...(say ? { say } : {}) });
  }

  /** Speak `text` after whatever is playing (`interrupt`: at once). */
  say(text, { interrupt = false } = {}) {
    if (text) this.#send({ type: "say", text, interrupt });
  }

  /**
   * Ask a question by voice; resolves to the answer: true/false for "yes_no", the name for
   * "name", the words for "text". Rejects when the page moves on before it is answered.
   */
  ask(id, expects, prompt) {
    this.#withdraw();
    return new Promise((resolve, reject) => {
      this.#question = { id, expects, prompt, resolve, reject };
      this.#send({ type: "ask", id, expects, prompt });
    });
  }

  /** An assistant action done by key or click (faster, stop listening, help...). */
  performByKey(action) {
    this.#send({ type: "perform", action });
  }

  close() {
    this.#withdraw();
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#connection?.close();
    this.#connection = null;
    this.ready = false;
  }

  #send(message) {
    this.#connection?.send(message);
  }

  #withdraw() {
    const question = this.#question;
    this.#question = null;
    question?.reject(new Error("the question was withdrawn"));
  }

  #onReady() {
    this.ready = true;
    this.#connections += 1;
    if (this.#connections === 1) return; // what the page sent so far is queued for it
    // A new server-side assistant after a reconnect: it starts on the page of the offer;
    // give it the open question again.
    this.#send({ type: "page", page: this.#page, in_call: this.#inCall });
    const question = this.#question;
    if (question) {
      this.#send({ type: "ask", id: question.id, expects: question.expects, prompt: question.prompt });
    }
  }

  #onAnswer({ id, value }) {
    const question = this.#question;
    if (!question || question.id !== id) return;
    this.#question = null;
    question.resolve(value);
  }

  async #onCommand({ action, outcome }) {
    if (outcome !== "perform") return; // asked to confirm, or cancelled: nothing to do yet
    const done = await perform(action, "voice");
    // The assistant's own actions (the registry's performed_by_assistant) are done already.
    if (!done && !getAction(action)?.performed_by_assistant) {
      this.say("That cannot be done right now.", { interrupt: true });
    }
  }
}
