// @ts-check
// Passkeys (WebAuthn) in the browser: make one for this account, or answer the sign-in
// challenge with one. The server's options and the credential travel as WebAuthn JSON.

import { api } from "./api.js";

/** Whether this browser can make and use passkeys with JSON options. */
export function passkeysSupported() {
  const credential = /** @type {any} */ (window.PublicKeyCredential);
  return Boolean(credential && credential.parseCreationOptionsFromJSON && navigator.credentials);
}

/** Make a passkey for the signed-in account and hand it to the server. */
export async function addPasskey() {
  const options = await api("/api/auth/mfa/passkey/options", { method: "POST" });
  const credential = /** @type {any} */ (window.PublicKeyCredential);
  const publicKey = credential.parseCreationOptionsFromJSON(options);
  const created = /** @type {any} */ (await navigator.credentials.create({ publicKey }));
  if (!created) throw new Error("No passkey was made.");
  await api("/api/auth/mfa/passkey", { method: "POST", body: { credential: created.toJSON() } });
}

/**
 * Answer the second step of sign-in with a passkey; resolves with who signed in.
 * @returns {Promise<any>}
 */
export async function signInWithPasskey() {
  const options = await api("/api/auth/mfa/passkey/sign-in-options", { method: "POST" });
  const credential = /** @type {any} */ (window.PublicKeyCredential);
  const publicKey = credential.parseRequestOptionsFromJSON(options);
  const answer = /** @type {any} */ (await navigator.credentials.get({ publicKey }));
  if (!answer) throw new Error("No passkey answered.");
  return api("/api/auth/mfa/verify", { method: "POST", body: { passkey: answer.toJSON() } });
}
