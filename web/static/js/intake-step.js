// The symptom intake in the waiting room ("Before your visit"): the patient answers by
// voice (the speech assistant in intake mode, on the microphone the page already has) or
// with the keyboard form. It sits in the waiting room so the clinician can admit at any
// time; join.js hides it (and stops the voice dialogue) once the patient is admitted.
//
//   const intake = mountIntakeStep({ getVisitId, getStream, getRtcConfig, onVoice });
//   intake.show();  // when the waiting room opens
//   intake.hide();  // when admitted, or the visit ends
//   intake.startVoice();  // "start symptom check" (the same as the "Answer by voice" button)
// `onVoice(active, {finished})` hears when answering by voice starts and stops.

import { api } from "./api.js";
import { AssistantConnection } from "./assistant.js";
import { voicePreferences } from "./voice-guide.js";
import {
  fetchIntakeQuestionnaire, renderIntakeForm, submitIntakeAnswers,
} from "./intake-form.js";
import { $ } from "./dom.js";

const THANKS = "Thank you, your answers were sent.";


function focusOn(node) {
  if (!node.hasAttribute("tabindex")) node.setAttribute("tabindex", "-1");
  node.focus();
}

/** Wire the "Before your visit" section of join.html; returns `{show, hide}`. */
export function mountIntakeStep({ getVisitId, getStream, getRtcConfig, onVoice = () => {} }) {
  const section = $("intake-step");
  const choices = $("intake-choices");
  const voiceButton = $("intake-voice-start");
  const formButton = $("intake-form-start");
  const voicePanel = $("intake-voice");
  const prompt = $("intake-prompt");
  const typeInstead = $("intake-type-instead");
  const stopVoice = $("intake-voice-stop");
  const formSlot = $("intake-form-slot");
  const done = $("intake-done");
  const alertBox = $("intake-alert");
  const audio = $("intake-audio");
  let assistant = null;
  let questionnaire = null;
  let active = false; // the section is shown (waiting room, not yet admitted)
  let finished = false;

  function showAlert(message) {
    if (!message || alertBox.textContent === message) return;
    alertBox.textContent = message;
    alertBox.hidden = false;
  }

  function closeVoice() {
    if (assistant) onVoice(false, { finished });
    assistant?.close();
    assistant = null;
    voicePanel.hidden = true;
    typeInstead.hidden = true;
  }

  function showChoices() {
    closeVoice();
    formSlot.hidden = true;
    choices.hidden = false;
  }

  function showThanks() {
    finished = true;
    closeVoice();
    formSlot.hidden = true;
    choices.hidden = true;
    done.textContent = THANKS;
    done.hidden = false;
  }

  // --- the form -----------------------------------------------------------------------------

  async function submit(answers) {
    const result = await submitIntakeAnswers(answers);
    if (result && result.emergency_message) showAlert(result.emergency_message);
    if (result && !(result.errors && Object.keys(result.errors).length)) {
      showThanks();
      // The alert matters more than the thanks: it takes the focus when there is one.
      focusOn(alertBox.hidden ? done : alertBox);
    }
    return result;
  }

  async function openForm() {
    closeVoice();
    choices.hidden = true;
    formSlot.hidden = false;
    if (!formSlot.querySelector("form")) {
      formSlot.textContent = "Loading the questions…";
      try {
        questionnaire = questionnaire || (await fetchIntakeQuestionnaire());
      } catch (error) {
        formSlot.textContent = error.message;
        choices.hidden = false;
        return;
      }
      if (!active || finished) return;
      renderIntakeForm(formSlot, questionnaire, {
        onSubmit: submit,
        headingLevel: 4,
        idPrefix: "intake",
      });
    }
    focusOn(formSlot.querySelector("h4") || formSlot);
  }

  // --- by voice -----------------------------------------------------------------------------

  function onTurn(turn) {
    prompt.textContent = turn.prompt || "";
    // The spoken prompt carries the emergency advice when a red flag is new.
    if (turn.urgent && turn.new_flags && turn.new_flags.length) showAlert(turn.prompt);
    typeInstead.hidden = !turn.offer_keyboard;
    if (turn.done) {
      showThanks();
      focusOn(alertBox.hidden ? done : alertBox);
    }
  }

  function onProblem({ status, detail, final }) {
    // 503: speech is off or busy on the server; the form is there now, so no waiting.
    if (!final && status !== 503) {
      prompt.textContent = "Could not reach the assistant. Trying again…";
      return;
    }
    assistant?.close();
    assistant = null;
    onVoice(false, { finished });
    prompt.textContent = `Answering by voice is not available now (${detail}). `
      + "Please type your answers instead.";
    typeInstead.hidden = false;
  }

  function openVoice() {
    const track = getStream()?.getAudioTracks()[0];
    if (!track) return;
    closeVoice();
    choices.hidden = true;
    formSlot.hidden = true;
    voicePanel.hidden = false;
    prompt.textContent = "Connecting to the assistant…";
    focusOn($("intake-voice-heading"));
    assistant = new AssistantConnection({
      visitId: getVisitId(),
      track,
      rtcConfig: getRtcConfig(),
      audio,
      mode: "intake",
      offerFields: voicePreferences, // the remembered speaking rate and volume
    });
    assistant
      .on("intake_turn", onTurn)
      .on("problem", onProblem)
      .open();
    onVoice(true);
  }

  function canStartVoice() {
    return active && !finished && !voiceButton.hidden && !assistant;
  }

  voiceButton.addEventListener("click", openVoice);
  formButton.addEventListener("click", openForm);
  typeInstead.addEventListener("click", openForm);
  stopVoice.addEventListener("click", () => {
    showChoices();
    focusOn(voiceButton.hidden ? formButton : voiceButton);
  });

  async function show() {
    if (active) return;
    active = true;
    section.hidden = false;
    voiceButton.hidden = !getStream()?.getAudioTracks().length;
    if (finished) return;
    try {
      const state = await api("/api/patient/intake");
      if (state && state.status === "completed") showThanks();
    } catch {
      /* unknown: offer the questions; the server refuses a second answer if need be */
    }
  }

  function hide() {
    active = false;
    closeVoice();
    section.hidden = true;
  }

  return { show, hide, startVoice: openVoice, canStartVoice };
}
