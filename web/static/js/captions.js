// @ts-check
// Live captions in the call pages: every speaker's captions (signaling `caption` messages)
// in the captions panel. The panel's settings are in caption-settings.js, the captioning
// of the viewer's own speech in speech-captions.js.
//
// Screen readers hear finals only: finals go into the role="log" region, while the
// provisional partials are drawn in a separate aria-hidden element next to it and vanish
// when the final of their segment arrives.

import { CaptionSettings } from "./caption-settings.js";
import { $ } from "./dom.js";
import { SpeechCaptions } from "./speech-captions.js";

/** @typedef {import("./signaling.js").SignalingClient} SignalingClient */
/**
 * A `caption` message of the signaling protocol.
 * @typedef {object} Caption
 * @property {string} segment_id
 * @property {string} speaker the speaker's peer id
 * @property {string} speaker_name
 * @property {string} text
 * @property {boolean} final
 */
/**
 * @typedef {object} PartialLine
 * @property {HTMLElement} element
 * @property {ReturnType<typeof setTimeout> | undefined} timer
 * @property {string | null} segmentId
 */

const MAX_LOG_ITEMS = 500;
const PARTIAL_TTL_MS = 10000; // a partial whose final never came (the speaker left)
const MAX_REMEMBERED_FINALS = 1000;

/** The captions of everyone in the call: finals in the log, partials beside it. */
export class CaptionsView {
  /**
   * @param {object} options
   * @param {{ log: HTMLElement, partials: HTMLElement }} options.elements the role="log"
   *   region for finals and the aria-hidden element for partials
   * @param {SignalingClient} options.signaling
   */
  constructor({ elements, signaling }) {
    this.el = elements;
    this.signaling = signaling;
    /** @type {Map<string, HTMLElement>} segment_id -> its line in the log */
    this.finals = new Map();
    /** @type {Map<string, PartialLine>} speaker peer id -> their provisional line */
    this.partials = new Map();
    signaling.on("caption", (caption) => this.show(/** @type {Caption} */ (caption)));
  }

  /** @param {Caption} caption */
  #speakerName(caption) {
    return caption.speaker === this.signaling.peerId ? "You" : caption.speaker_name;
  }

  /**
   * @param {HTMLElement} element
   * @param {Caption} caption
   */
  #line(element, caption) {
    const speaker = document.createElement("span");
    speaker.className = "speaker";
    speaker.textContent = `${this.#speakerName(caption)}: `;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = caption.text;
    element.replaceChildren(speaker, text);
  }

  /**
   * Show one `caption` message: a partial provisionally, a final in the log.
   * @param {Caption} caption
   */
  show(caption) {
    if (!caption || typeof caption.segment_id !== "string") return;
    if (caption.final) this.#final(caption);
    else this.#partial(caption);
  }

  /** @param {Caption} caption */
  #final(caption) {
    this.#dropPartial(caption.speaker, caption.segment_id);
    const text = (caption.text || "").trim();
    if (!text) return;
    const known = this.finals.get(caption.segment_id);
    if (known) {
      // The same final again (a replay after a reconnect): no second announcement.
      if (known.querySelector(".text")?.textContent !== text) this.#line(known, caption);
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
      const oldest = /** @type {HTMLElement} */ (log.firstElementChild);
      this.finals.delete(oldest.dataset.segmentId || "");
      oldest.remove();
    }
    const first = this.finals.keys().next().value;
    if (this.finals.size > MAX_REMEMBERED_FINALS && first !== undefined) this.finals.delete(first);
    // Follow the conversation unless the viewer scrolled up to read back.
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  /** @param {Caption} caption */
  #partial(caption) {
    if (this.finals.has(caption.segment_id)) return; // late: its final is already shown
    const text = (caption.text || "").trim();
    if (!text) return;
    let entry = this.partials.get(caption.speaker);
    if (!entry) {
      const element = document.createElement("p");
      element.className = "caption partial";
      this.el.partials.append(element);
      entry = { element, timer: undefined, segmentId: null };
      this.partials.set(caption.speaker, entry);
    }
    entry.segmentId = caption.segment_id;
    // The ellipsis marks the words as provisional (without doubling the speaker's own).
    this.#line(entry.element, { ...caption, text: `${text.replace(/[.…\s]+$/u, "")}…` });
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.#dropPartial(caption.speaker, null), PARTIAL_TTL_MS);
  }

  // A speaker's final replaces their provisional line (of that segment, or any with null).
  /**
   * @param {string} speaker
   * @param {string | null} segmentId
   */
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
}

/**
 * The captions panel and own-speech captioning of a call page, from its element ids.
 * @param {{ signaling: SignalingClient }} options
 */
export function mountCaptions({ signaling }) {
  const view = new CaptionsView({
    signaling,
    elements: { log: $("caption-log"), partials: $("caption-partials") },
  });
  const settings = new CaptionSettings({
    panel: $("captions-panel"),
    view: $("caption-view"),
    hiddenNote: $("captions-hidden-note"),
    show: $("caption-show"),
    size: $("caption-size"),
    contrast: $("caption-contrast"),
    position: $("caption-position"),
  }, { side: $("captions-side"), below: $("captions-below") });
  const speech = new SpeechCaptions({
    select: $("speech-language"),
    note: $("speech-note"),
    audio: $("assistant-audio"),
  });
  return { view, settings, speech };
}
