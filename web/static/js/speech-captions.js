// @ts-check
// Captioning of the viewer's own speech in a call page, through the speech assistant
// (assistant.js): the "Language you speak" select and a note saying what is happening.

import { announce } from "./a11y.js";
import { AssistantConnection } from "./assistant.js";
import { readSetting, writeSetting } from "./caption-settings.js";

/** Languages a participant may say they speak; the server has a model for some of them. */
export const SPEECH_LANGUAGES = [
  ["en", "English"],
  ["es", "Spanish (Español)"],
  ["fr", "French (Français)"],
  ["de", "German (Deutsch)"],
  ["it", "Italian (Italiano)"],
  ["pt", "Portuguese (Português)"],
  ["nl", "Dutch (Nederlands)"],
  ["pl", "Polish (Polski)"],
  ["ru", "Russian (Русский)"],
  ["uk", "Ukrainian (Українська)"],
  ["tr", "Turkish (Türkçe)"],
  ["ar", "Arabic (العربية)"],
  ["fa", "Persian (فارسی)"],
  ["hi", "Hindi (हिन्दी)"],
  ["zh", "Chinese (中文)"],
  ["ja", "Japanese (日本語)"],
  ["ko", "Korean (한국어)"],
  ["vi", "Vietnamese (Tiếng Việt)"],
];
const DEFAULT_LANGUAGE = ""; // the clinic's usual language (the server's setting)
const NOT_CAPTIONED = "off";

/**
 * The English name of a language code ("fr" -> "French"), for messages.
 * @param {string} code
 */
export function languageName(code) {
  const found = SPEECH_LANGUAGES.find(([value]) => value === code);
  return found ? found[1].replace(/ \(.*\)$/, "") : code;
}

/**
 * What went wrong with captioning one's speech, in words (an assistant "problem" event).
 * @param {{ status: number, detail: string, language: string | null }} problem
 */
function describeProblem({ status, detail, language }) {
  if (status === 422) {
    const what = language ? languageName(language) : "the clinic's usual language";
    return `No speech model for ${what} is installed; captions are off for your speech.`;
  }
  if (status === 503) return `Captions of your speech are not available right now (${detail}).`;
  if (status === 401 || status === 403) return "Captions of your speech are off: please sign in again.";
  if (status === 409) return "Captions of your speech are off: the visit is closed.";
  return `Captions of your speech are interrupted (${detail}).`;
}

/**
 * Captioning of the viewer's own speech: the "Language you speak" select (with an option
 * not to be captioned), the assistant connection, and a note saying what is happening.
 * Call `start({visitId, stream, rtcConfig})` once in the call and `close()` at its end.
 */
export class SpeechCaptions {
  /**
   * @param {object} elements
   * @param {HTMLSelectElement} elements.select "Language you speak"
   * @param {HTMLElement} elements.note
   * @param {HTMLAudioElement} elements.audio where the assistant would speak
   */
  constructor({ select, note, audio }) {
    this.select = select;
    this.note = note;
    this.audio = audio;
    /** @type {AssistantConnection | null} */
    this.assistant = null;
    /**
     * @type {{ visitId: string, stream: MediaStream, track: MediaStreamTrack,
     *   rtcConfig: RTCConfiguration } | null}
     */
    this.options = null;
    const choices = [
      [DEFAULT_LANGUAGE, "The clinic's usual language"],
      ...SPEECH_LANGUAGES,
      [NOT_CAPTIONED, "Do not caption my speech"],
    ];
    for (const [value, label] of choices) select.append(new Option(label, value));
    const saved = readSetting("language");
    select.value = choices.some(([value]) => value === saved) ? saved : DEFAULT_LANGUAGE;
    select.addEventListener("change", () => {
      writeSetting("language", select.value);
      this.#languageChanged();
    });
    this.#setNote("Captions of your speech start when the call does.");
    // Closing the connection tells the server at once, instead of after an ICE timeout.
    window.addEventListener("pagehide", () => this.assistant?.close());
  }

  /** @param {string} text */
  #setNote(text) {
    this.note.textContent = text;
  }

  get #language() {
    return this.select.value === NOT_CAPTIONED ? NOT_CAPTIONED : this.select.value || null;
  }

  /**
   * Begin captioning the microphone of `stream` (no-op without a microphone or if started).
   * @param {{ visitId: string, stream: MediaStream | null, rtcConfig: RTCConfiguration }} call
   */
  start({ visitId, stream, rtcConfig }) {
    if (this.options) return;
    const track = stream ? stream.getAudioTracks()[0] : null;
    if (!stream || !track) {
      this.#setNote("Your speech is not captioned: this device has no microphone.");
      return;
    }
    this.options = { visitId, stream, track, rtcConfig };
    this.#languageChanged();
  }

  #languageChanged() {
    if (!this.options) return;
    const language = this.#language;
    if (language === NOT_CAPTIONED) {
      this.assistant?.close();
      this.assistant = null;
      this.#setNote("Your speech is not captioned. Choose a language to turn it on.");
      return;
    }
    if (this.assistant) {
      this.#setNote("Changing the language of your captions…");
      this.assistant.setLanguage(language);
      return;
    }
    const assistant = new AssistantConnection({ ...this.options, audio: this.audio, language });
    this.assistant = assistant;
    assistant
      .on("ready", (/** @type {{ language: string }} */ answer) => {
        this.#setNote(`Your speech is captioned in ${languageName(answer.language)}.`);
      })
      .on("problem", (problem) => {
        const text = describeProblem(problem);
        this.#setNote(problem.final ? text : `${text} Trying again…`);
        // Only what the viewer can act on is spoken; the note shows the rest.
        if (problem.status === 422) announce(text);
      });
    this.#setNote("Starting captions of your speech…");
    assistant.open();
  }

  /** Stop captioning for good (the call ended). */
  close() {
    this.assistant?.close();
    this.assistant = null;
    this.options = null;
  }
}
