// @ts-check
// The viewer's caption settings in a call page: show or hide, size, high contrast, and
// where the panel sits (beside or below the video), remembered in the preferences store.

import { announce } from "./a11y.js";
import { readPref, writePref } from "./prefs.js";

const SETTINGS = {
  show: { key: "captions.show", fallback: "1" },
  size: { key: "captions.size", fallback: "normal" },
  contrast: { key: "captions.contrast", fallback: "0" },
  position: { key: "captions.position", fallback: "side" },
  language: { key: "captions.language", fallback: "" /* the clinic's usual language */ },
};
const SIZES = ["normal", "large", "larger", "largest"];
const POSITIONS = ["side", "below"];

/**
 * A remembered caption setting.
 * @param {keyof typeof SETTINGS} name
 */
export function readSetting(name) {
  const { key, fallback } = SETTINGS[name];
  return readPref(key, fallback);
}

/**
 * Remember a caption setting.
 * @param {keyof typeof SETTINGS} name
 * @param {string} value
 */
export function writeSetting(name, value) {
  writePref(SETTINGS[name].key, value);
}

/**
 * @typedef {object} CaptionSettingsElements
 * @property {HTMLElement} panel the captions section, which moves and takes the size classes
 * @property {HTMLElement} view the log and the partials, hidden when captions are off
 * @property {HTMLElement} hiddenNote says that captions are hidden
 * @property {HTMLInputElement} show
 * @property {HTMLSelectElement} size
 * @property {HTMLInputElement} contrast
 * @property {HTMLSelectElement} position
 */

/** The settings controls of the captions panel, wired to what they change. */
export class CaptionSettings {
  /**
   * @param {CaptionSettingsElements} elements
   * @param {{ side: HTMLElement, below: HTMLElement }} slots the containers the panel moves between
   */
  constructor(elements, slots) {
    this.el = elements;
    this.slots = slots;
    const { show, size, contrast, position } = elements;
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
