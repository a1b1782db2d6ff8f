// @ts-check
// The one store of a person's remembered settings (display, captions, voice guidance). The
// browser may refuse storage (private modes, policies): a setting then lasts for this page.

const PREFIX = "telehealth.";

/**
 * The stored value of `name`, or `fallback` when there is none or storage is refused.
 * @param {string} name
 * @param {string} fallback
 * @returns {string}
 */
export function readPref(name, fallback) {
  try {
    return localStorage.getItem(PREFIX + name) ?? fallback;
  } catch {
    return fallback;
  }
}

/**
 * Remember `value` for `name` (applied by the caller either way).
 * @param {string} name
 * @param {string} value
 */
export function writePref(name, value) {
  try {
    localStorage.setItem(PREFIX + name, value);
  } catch {
    /* not remembered; still used on this page */
  }
}

/**
 * An on/off setting stored as "1" / "0".
 * @param {string} name
 * @param {boolean} fallback
 */
export function readFlag(name, fallback) {
  return readPref(name, fallback ? "1" : "0") === "1";
}

/**
 * @param {string} name
 * @param {boolean} on
 */
export function writeFlag(name, on) {
  writePref(name, on ? "1" : "0");
}
