// @ts-check
// The resume token of a visit's signaling connection, kept in sessionStorage so a reload or
// a dropped connection resumes the same place in the visit (signaling.js).

/** @param {string} visitId */
function keyOf(visitId) {
  return `telehealth.resume.${visitId}`;
}

/**
 * The token the server gave for `visitId` in this tab, or null.
 * @param {string} visitId
 */
export function readResumeToken(visitId) {
  try {
    return sessionStorage.getItem(keyOf(visitId));
  } catch {
    return null;
  }
}

/**
 * Keep `token` for `visitId` (null: forget it).
 * @param {string} visitId
 * @param {string | null} token
 */
export function writeResumeToken(visitId, token) {
  try {
    if (token) sessionStorage.setItem(keyOf(visitId), token);
    else sessionStorage.removeItem(keyOf(visitId));
  } catch {
    /* resuming after a reload will not work, but a fresh join still does */
  }
}
