// The patient's consent to saving the captions as a written record (PUT/GET
// /api/patient/consent): the question of the join step, which has no default answer and
// must be answered before joining, and the same choice in the call view, to change it.

import { announce } from "./a11y.js";
import { api } from "./api.js";

const radios = (name) => [...document.querySelectorAll(`input[name="${name}"]`)];

/** The join step's question (radios named `consent`, error `#consent-error`). */
export class ConsentQuestion {
  constructor() {
    this.error = document.getElementById("consent-error");
    for (const radio of radios("consent")) radio.addEventListener("change", () => this.problem(""));
  }

  /** true (yes), false (no) or null (not answered yet). */
  get answer() {
    const chosen = radios("consent").find((radio) => radio.checked);
    return chosen ? chosen.value === "yes" : null;
  }

  focus() {
    radios("consent")[0].focus();
  }

  /** Answer it (by voice): true is yes, false is no. */
  choose(yes) {
    for (const radio of radios("consent")) radio.checked = (radio.value === "yes") === yes;
    this.problem("");
  }

  /** Show `text` as the question's error ("" clears it). */
  problem(text) {
    this.error.textContent = text;
    this.error.hidden = !text;
    this.error.closest("fieldset").classList.toggle("invalid", Boolean(text));
  }

  /** Check that it is answered; if not, say so and put the focus on it. */
  validate() {
    if (this.answer !== null) {
      this.problem("");
      return true;
    }
    this.problem("Choose Yes or No.");
    this.focus();
    return false;
  }
}

/** Show a stored answer (the API's ConsentOut) in the call view's choice. */
export function showConsent(state) {
  for (const radio of radios("consent-change")) {
    radio.checked = state.state !== "not_asked" && (radio.value === "yes") === state.transcript;
  }
}

/** Store the answer; resolves false if the server could not be told. */
export async function saveConsent(transcript) {
  try {
    showConsent(await api("/api/patient/consent", { method: "PUT", body: { transcript } }));
    return true;
  } catch {
    return false;
  }
}

/** Load the stored answer into the call view (after a reload of the page). */
export function loadConsent() {
  api("/api/patient/consent").then(showConsent, () => {});
}

/** Let the patient change their answer from the call view (radios `consent-change`). */
export function mountConsentChange() {
  for (const radio of radios("consent-change")) {
    radio.addEventListener("change", async () => {
      const transcript = radio.value === "yes";
      if (await saveConsent(transcript)) {
        announce(
          transcript
            ? "From now on the captions are saved as a written record for your clinician."
            : "From now on the captions are not saved.",
        );
        return;
      }
      radio.checked = false;
      announce("Your answer could not be saved. Please try again.");
    });
  }
}
