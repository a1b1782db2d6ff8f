// @ts-check
// The staff pages' header: who is signed in, and the Sign out button.

import { api } from "./api.js";
import { $ } from "./dom.js";

/**
 * Show who is signed in and offer Sign out; `signedOut()` runs after signing out.
 * @param {{ display_name: string, role?: string }} me
 */
export function showSignedIn(me) {
  const adminLink = document.getElementById("admin-link");
  if (adminLink) adminLink.hidden = me.role !== "admin";
  $("signed-in-as").textContent = `Signed in as ${me.display_name}`;
  $("signed-in-as").hidden = false;
  $("sign-out").hidden = false;
}

export function hideSignedIn() {
  $("signed-in-as").hidden = true;
  $("sign-out").hidden = true;
}

/**
 * The Sign out button ends the session, then `signedOut()` shows what comes next.
 * @param {() => void} signedOut
 */
export function mountSignOut(signedOut) {
  $("sign-out").addEventListener("click", async () => {
    try {
      await api("/api/auth/logout", { method: "POST" });
    } catch {
      /* the session is gone either way from this page's point of view */
    }
    hideSignedIn();
    signedOut();
  });
}
