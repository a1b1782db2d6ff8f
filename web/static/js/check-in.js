// The patient's check-in form: the consent question is answered, the name given, and the
// invite exchanged for a visit-scoped session (POST /api/patient/session).

import { ApiError, api } from "./api.js";
import { $ } from "./dom.js";

/**
 * Check the form and open the session; resolves to the visit, or null when the form
 * says what is wrong. `say(text)` speaks a problem too (voice guidance); `refused(text)`
 * is called when the link itself cannot be used (403).
 */
export async function openSession({ invite, consent, say, refused }) {
  if (!consent.validate()) return null;
  const input = $("display-name");
  const name = input.value.trim();
  const error = $("name-error");
  if (!name) {
    error.textContent = "Enter your name.";
    say(error.textContent);
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return null;
  }
  input.removeAttribute("aria-invalid");
  error.textContent = "";
  try {
    return await api("/api/patient/session", {
      method: "POST",
      body: { invite, display_name: name },
    });
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 403) {
      refused(failure.message);
    } else {
      error.textContent = failure.message;
      input.focus();
    }
    say(failure.message);
    return null;
  }
}
