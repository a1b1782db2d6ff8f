// @ts-check
// Accessibility helpers shared by every page: status announcements, the persistent
// display settings (high contrast, large text) and view focus. Shortcuts are the action
// registry's (actions.js).

import { readFlag, writeFlag } from "./prefs.js";

/** Display setting (a class on <html>) -> its remembered name (prefs.js). */
const PREFS = /** @type {Record<string, string>} */ ({
  "high-contrast": "pref.highContrast",
  "large-text": "pref.largeText",
});

/** Apply the saved display settings as classes on <html>. */
export function applyDisplayPrefs() {
  for (const [cls, key] of Object.entries(PREFS)) {
    document.documentElement.classList.toggle(cls, readFlag(key, false));
  }
}

/**
 * Wire the `input[data-pref]` checkboxes of the header's display settings.
 * @param {ParentNode} [root]
 */
export function initDisplaySettings(root = document) {
  applyDisplayPrefs();
  for (const input of root.querySelectorAll("input[data-pref]")) {
    if (!(input instanceof HTMLInputElement)) continue;
    const key = PREFS[input.dataset.pref || ""];
    if (!key) continue;
    input.checked = readFlag(key, false);
    input.addEventListener("change", () => {
      writeFlag(key, input.checked);
      applyDisplayPrefs();
    });
  }
}

let announceSerial = 0;
/** @type {Set<(text: string) => void>} */
const announceListeners = new Set();

/**
 * Also hear every announcement (voice guidance speaks them); returns an unsubscribe.
 * @param {(text: string) => void} listener
 */
export function onAnnounce(listener) {
  announceListeners.add(listener);
  return () => announceListeners.delete(listener);
}

/**
 * Put `text` into the page's role="status" region (id "status").
 * The region is emptied first and filled a moment later, so that repeating the same
 * words is announced again; only the latest of several quick calls wins.
 * @param {string} text
 */
export function announce(text) {
  const region = document.getElementById("status");
  if (!region) return;
  const serial = ++announceSerial;
  region.textContent = "";
  setTimeout(() => {
    if (serial === announceSerial) region.textContent = text;
  }, 60);
  for (const listener of announceListeners) listener(text);
}

/**
 * Show one of the page's views (elements with `data-view`) and hide the others.
 * With `heading`, the page's single h1 takes that text. Focus moves to the view's own
 * heading (marked `data-view-heading`) or else the h1, so keyboard and screen-reader
 * users land on the new content.
 * @param {string} name
 * @param {{ focus?: boolean, heading?: string }} [options]
 */
export function showView(name, { focus = true, heading } = {}) {
  /** @type {HTMLElement | null} */
  let shown = null;
  for (const view of document.querySelectorAll("[data-view]")) {
    if (!(view instanceof HTMLElement)) continue;
    const active = view.dataset.view === name;
    view.hidden = !active;
    if (active) shown = view;
  }
  if (!shown) return;
  const h1 = document.querySelector("h1");
  if (heading && h1) h1.textContent = heading;
  const target = /** @type {HTMLElement | null} */ (
    shown.querySelector("[data-view-heading]") || h1
  );
  if (target) document.title = `${(target.textContent || "").trim()} – Telehealth`;
  if (focus && target) {
    target.setAttribute("tabindex", "-1");
    target.focus();
  }
}

/**
 * Format an ISO time as a short local time, e.g. "14:30".
 * @param {string} iso
 */
export function formatTime(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/**
 * Format an ISO time as a local date and time.
 * @param {string} iso
 */
export function formatDateTime(iso) {
  return new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}
