// Accessibility helpers shared by every page: status announcements, the persistent
// display settings (high contrast, large text), modifier-key shortcuts and view focus.

import { readFlag, writeFlag } from "./prefs.js";

// Display setting -> its remembered name (prefs.js).
const PREFS = {
  "high-contrast": "pref.highContrast",
  "large-text": "pref.largeText",
};

/** Apply the saved display settings as classes on <html>. */
export function applyDisplayPrefs() {
  for (const [cls, key] of Object.entries(PREFS)) {
    document.documentElement.classList.toggle(cls, readFlag(key, false));
  }
}

/** Wire the `input[data-pref]` checkboxes of the page's display settings. */
export function initDisplaySettings(root = document) {
  applyDisplayPrefs();
  for (const input of root.querySelectorAll("input[data-pref]")) {
    const key = PREFS[input.dataset.pref];
    if (!key) continue;
    input.checked = readFlag(key, false);
    input.addEventListener("change", () => {
      writeFlag(key, input.checked);
      applyDisplayPrefs();
    });
  }
}

let announceSerial = 0;
const announceListeners = new Set();

/** Also hear every announcement (voice guidance speaks them); returns an unsubscribe. */
export function onAnnounce(listener) {
  announceListeners.add(listener);
  return () => announceListeners.delete(listener);
}

/**
 * Put `text` into the page's role="status" region (id "status").
 * The region is emptied first and filled a moment later, so that repeating the same
 * words is announced again; only the latest of several quick calls wins.
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
 * Bind Alt+<key> shortcuts to buttons: `{ KeyM: muteButton }`. The shortcut clicks the
 * button, so there is one handler per action. Single-character shortcuts are never used
 * (WCAG 2.1.4); Alt is required and Ctrl/Meta must be up.
 */
export function bindAltShortcuts(map) {
  document.addEventListener("keydown", (event) => {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    const button = map[event.code];
    if (!button || button.disabled || button.closest("[hidden]")) return;
    event.preventDefault();
    button.click();
  });
}

/**
 * Show one of the page's views (elements with `data-view`) and hide the others.
 * With `heading`, the page's single h1 takes that text. Focus moves to the view's own
 * heading (marked `data-view-heading`) or else the h1, so keyboard and screen-reader
 * users land on the new content.
 */
export function showView(name, { focus = true, heading } = {}) {
  let shown = null;
  for (const view of document.querySelectorAll("[data-view]")) {
    const active = view.dataset.view === name;
    view.hidden = !active;
    if (active) shown = view;
  }
  if (!shown) return;
  const h1 = document.querySelector("h1");
  if (heading && h1) h1.textContent = heading;
  const target = shown.querySelector("[data-view-heading]") || h1;
  if (target) document.title = `${target.textContent.trim()} – Telehealth`;
  if (focus && target) {
    target.setAttribute("tabindex", "-1");
    target.focus();
  }
}

/** Format an ISO time as a short local time, e.g. "14:30". */
export function formatTime(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** Format an ISO time as a local date and time. */
export function formatDateTime(iso) {
  return new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}
