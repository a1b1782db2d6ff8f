// Live captions in the call pages: every speaker's captions (signaling `caption` messages),
// the viewer's caption settings (remembered in localStorage), and the captioning of the
// viewer's own speech through the speech assistant (assistant.js).
//
// Screen readers hear finals only: finals go into the role="log" region, while the
// provisional partials are drawn in a separate aria-hidden element next to it and vanish
// when the final of their segment arrives.

import { announce } from "./a11y.js";
import { AssistantConnection } from "./assistant.js";
import { $ } from "./dom.js";
import { readPref, writePref } from "./prefs.js";

const MAX_LOG_ITEMS = 500;
const PARTIAL_TTL_MS = 10000; // a partial whose final never came (the speaker left)
const MAX_REMEMBERED_FINALS = 1000;

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

const SETTINGS = {
  show: { key: "captions.show", fallback: "1" },
  size: { key: "captions.size", fallback: "normal" },
  contrast: { key: "captions.contrast", fallback: "0" },
  position: { key: "captions.position", fallback: "side" },
  language: { key: "captions.language", fallback: DEFAULT_LANGUAGE },
};
const SIZES = ["normal", "large", "larger", "largest"];
const POSITIONS = ["side", "below"];

function readSetting(name) {
  const { key, fallback } = SETTINGS[name];
  return readPref(key, fallback);
}

function writeSetting(name, value) {
  writePref(SETTINGS[name].key, value);
}

/** The English name of a language code ("fr" -> "French"), for messages. */
export function languageName(code) {
  const found = SPEECH_LANGUAGES.find(([value]) => value === code);
  return found ? found[1].replace(/ \(.*\)$/, "") : code;
}

/**
 * The captions panel of a call page. `elements`: panel (the section), log (role="log"),
 * partials (aria-hidden), view (log and partials), hiddenNote, and the settings controls
 * show, size, contrast, position; `slots`: {side, below}, the containers the panel moves
 * between.
 */
export class CaptionsView {
  constructor({ elements, slots, signaling }) {
    this.el = elements;
    this.slots = slots;
    this.signaling = signaling;
    this.finals = new Map(); // segment_id -> <p> in the log
    this.partials = new Map(); // speaker peer id -> {segmentId, element, timer}
    signaling.on("caption", (caption) => this.show(caption));
    this.#initSettings();
  }

  #speakerName(caption) {
    return caption.speaker === this.signaling.peerId ? "You" : caption.speaker_name;
  }

  #line(element, caption) {
    const speaker = document.createElement("span");
    speaker.className = "speaker";
    speaker.textContent = `${this.#speakerName(caption)}: `;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = caption.text;
    element.replaceChildren(speaker, text);
  }

  /** Show one `caption` message: a partial provisionally, a final in the log. */
  show(caption) {
    if (!caption || typeof caption.segment_id !== "string") return;
    if (caption.final) this.#final(caption);
    else this.#partial(caption);
  }

  #final(caption) {
    this.#dropPartial(caption.speaker, caption.segment_id);
    const text = (caption.text || "").trim();
    if (!text) return;
    const known = this.finals.get(caption.segment_id);
    if (known) {
      // The same final again (a replay after a reconnect): no second announcement.
      if (known.querySelector(".text").textContent !== text) this.#line(known, caption);
      return;
    }
    const item = document.createElement("p");
    item.className = "caption";
    item.dataset.segmentId = caption.segment_id;
    item.dataset.speaker = caption.speaker;
    this.#line(item, { ...caption, text });
    const log = this.el.log;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.append(item);
    this.finals.set(caption.segment_id, item);
    while (log.children.length > MAX_LOG_ITEMS) {
      const oldest = log.firstElementChild;
      this.finals.delete(oldest.dataset.segmentId);
      oldest.remove();
    }
    if (this.finals.size > MAX_REMEMBERED_FINALS) {
      this.finals.delete(this.finals.keys().next().value);
    }
    // Follow the conversation unless the viewer scrolled up to read back.
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  #partial(caption) {
    if (this.finals.has(caption.segment_id)) return; // late: its final is already shown
    const text = (caption.text || "").trim();
    if (!text) return;
    let entry = this.partials.get(caption.speaker);
    if (!entry) {
      const element = document.createElement("p");
      element.className = "caption partial";
      this.el.partials.append(element);
      entry = { element, timer: null, segmentId: null };
      this.partials.set(caption.speaker, entry);
    }
    entry.segmentId = caption.segment_id;
    // The ellipsis marks the words as provisional (without doubling the speaker's own).
    this.#line(entry.element, { ...caption, text: `${text.replace(/[.…\s]+$/u, "")}…` });
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.#dropPartial(caption.speaker, null), PARTIAL_TTL_MS);
  }

  // A speaker's final replaces their provisional line (of that segment, or any with null).
  #dropPartial(speaker, segmentId) {
    const entry = this.partials.get(speaker);
    if (!entry || (segmentId !== null && entry.segmentId !== segmentId)) return;
    clearTimeout(entry.timer);
    entry.element.remove();
    this.partials.delete(speaker);
  }

  /** Empty the partial lines (the call ended). */
  clearPartials() {
    for (const speaker of [...this.partials.keys()]) this.#dropPartial(speaker, null);
  }

  #initSettings() {
    const { show, size, contrast, position } = this.el;
    show.checked = readSetting("show") === "1";
    size.value = SIZES.includes(readSetting("size")) ? readSetting("size") : "normal";
    contrast.checked = readSetting("contrast") === "1";
    position.value = POSITIONS.includes(readSetting("position")) ? readSetting("position") : "side";
    show.addEventListener("change", () => {
      writeSetting("show", show.checked ? "1" : "0");
      this.#apply();
      announce(show.checked ? "Captions are shown." : "Captions are hidden.");
    });
    size.addEventListener("change", () => {
      writeSetting("size", size.value);
      this.#apply();
    });
    contrast.addEventListener("change", () => {
      writeSetting("contrast", contrast.checked ? "1" : "0");
      this.#apply();
    });
    position.addEventListener("change", () => {
      writeSetting("position", position.value);
      this.#apply();
      position.focus(); // moving the panel must not drop keyboard focus
      announce(
        position.value === "below" ? "Captions moved below the video." : "Captions moved beside the video.",
      );
    });
    this.#apply();
  }

  #apply() {
    const { panel, view, hiddenNote, show, size, contrast, position } = this.el;
    view.hidden = !show.checked;
    hiddenNote.hidden = show.checked;
    for (const name of SIZES) panel.classList.toggle(`caption-size-${name}`, size.value === name);
    panel.classList.toggle("caption-contrast", contrast.checked);
    const slot = position.value === "below" ? this.slots.below : this.slots.side;
    if (panel.parentElement !== slot) slot.prepend(panel);
    panel.dataset.position = position.value;
  }
}

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
 * Call `start({visitId, stream, iceServers})` once in the call and `close()` at its end.
 */
export class SpeechCaptions {
  constructor({ select, note, audio }) {
    this.select = select;
    this.note = note;
    this.audio = audio;
    this.assistant = null;
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

  #setNote(text) {
    this.note.textContent = text;
  }

  get #language() {
    return this.select.value === NOT_CAPTIONED ? NOT_CAPTIONED : this.select.value || null;
  }

  /** Begin captioning the microphone of `stream` (no-op without a microphone or if started). */
  start({ visitId, stream, iceServers }) {
    if (this.options) return;
    const track = stream ? stream.getAudioTracks()[0] : null;
    if (!track) {
      this.#setNote("Your speech is not captioned: this device has no microphone.");
      return;
    }
    this.options = { visitId, stream, track, iceServers };
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
      .on("ready", (answer) => {
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

/** The captions panel and own-speech captioning of a call page, from its element ids. */
export function mountCaptions({ signaling }) {
  const view = new CaptionsView({
    signaling,
    elements: {
      panel: $("captions-panel"),
      log: $("caption-log"),
      partials: $("caption-partials"),
      view: $("caption-view"),
      hiddenNote: $("captions-hidden-note"),
      show: $("caption-show"),
      size: $("caption-size"),
      contrast: $("caption-contrast"),
      position: $("caption-position"),
    },
    slots: { side: $("captions-side"), below: $("captions-below") },
  });
  const speech = new SpeechCaptions({
    select: $("speech-language"),
    note: $("speech-note"),
    audio: $("assistant-audio"),
  });
  return { view, speech };
}
