// @ts-check
// Keyboard shortcuts as the action registry writes them (aria-keyshortcuts syntax,
// "Alt+Shift+C"): matching a key press, and the words people read. actions.js binds them.

/** @type {Record<string, string>} */
const KEY_CODES = { ".": "Period", ",": "Comma", "/": "Slash", ";": "Semicolon" };
/** @type {Record<string, string>} */
const KEY_NAMES = {
  ".": "Period",
  ",": "Comma",
  ArrowUp: "Up arrow",
  ArrowDown: "Down arrow",
  ArrowLeft: "Left arrow",
  ArrowRight: "Right arrow",
};

/**
 * "Alt+Shift+C" -> { alt, ctrl, shift, meta, code: "KeyC" } (KeyboardEvent.code).
 * @param {string} shortcut
 */
export function parseShortcut(shortcut) {
  const parts = shortcut.split("+");
  const key = parts.pop() || "+";
  const mods = new Set(parts);
  let code = KEY_CODES[key] || key;
  if (/^[A-Za-z]$/.test(key)) code = `Key${key.toUpperCase()}`;
  else if (/^[0-9]$/.test(key)) code = `Digit${key}`;
  return {
    alt: mods.has("Alt"),
    ctrl: mods.has("Control"),
    shift: mods.has("Shift"),
    meta: mods.has("Meta"),
    code,
  };
}

/**
 * Whether a keydown event is this shortcut (by physical key, so Alt on a Mac works).
 * @param {string} shortcut
 * @param {KeyboardEvent} event
 */
export function shortcutMatches(shortcut, event) {
  const wanted = parseShortcut(shortcut);
  return (
    event.code === wanted.code &&
    event.altKey === wanted.alt &&
    event.ctrlKey === wanted.ctrl &&
    event.shiftKey === wanted.shift &&
    event.metaKey === wanted.meta
  );
}

/**
 * "Alt+ArrowUp" -> "Alt+Up arrow", for people rather than for aria-keyshortcuts.
 * @param {string} shortcut
 */
export function shortcutLabel(shortcut) {
  const parts = shortcut.split("+");
  const key = parts.pop() || "";
  return [...parts, KEY_NAMES[key] || key].join("+");
}
