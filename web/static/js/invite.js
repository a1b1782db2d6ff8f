// The patient's invite token. It arrives in the URL fragment (never sent to the server by
// the browser); it is taken out of the address bar and history at once and kept in
// sessionStorage only until it is redeemed, so a reload before that still works.

const INVITE_KEY = "telehealth.invite";

/** The invite token of this tab: from the address (removed from it), or kept from before. */
export function takeInviteFromAddress() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("invite");
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  try {
    if (token) sessionStorage.setItem(INVITE_KEY, token);
    return token || sessionStorage.getItem(INVITE_KEY);
  } catch {
    return token;
  }
}

/** Whether the address now carries an invite (a link pasted into this open page). */
export function addressHasInvite() {
  return new URLSearchParams(location.hash.slice(1)).has("invite");
}

/** The invite was redeemed (or refused): keep it no longer. */
export function forgetInvite() {
  try {
    sessionStorage.removeItem(INVITE_KEY);
  } catch {
    /* nothing stored */
  }
}
