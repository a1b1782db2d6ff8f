// The patient page's handlers for the action registry: one per action, whether it comes
// from a button, a shortcut (actions.js) or the voice assistant (voice-guide.js).
//
//   registerPatientActions({ page hooks... });

import { announce } from "./a11y.js";
import {
  assistantActions, bindButtons, bindShortcuts, registerAction, renderHelp, setConfirmer,
  whereText,
} from "./actions.js";

const RECENT_CAPTIONS = 3;

function captionLines(log) {
  return [...log.querySelectorAll(".caption")].map((item) => item.textContent.trim());
}

/**
 * `hooks`: {guide() -> VoiceGuide|null, checkIn(), canCheckIn(), startSymptomCheck(),
 * canStartSymptomCheck(), captionShow (checkbox), captionLog,
 * helpPanel (<details>), helpBody, endCall({confirmed}), page()}.
 */
export function registerPatientActions(hooks) {
  const say = (text) => announce(text); // spoken too while voice guidance is on
  const inCall = () => hooks.page() === "call";

  // Mute and camera: call-ui.js mountMediaControls registers them with their buttons.
  const setCaptions = (on) => () => {
    hooks.captionShow.checked = on;
    hooks.captionShow.dispatchEvent(new Event("change"));
  };
  registerAction("captions_on", setCaptions(true), {
    enabled: () => inCall() && !hooks.captionShow.checked,
  });
  registerAction("captions_off", setCaptions(false), {
    enabled: () => inCall() && hooks.captionShow.checked,
  });
  registerAction("read_captions", () => {
    const lines = captionLines(hooks.captionLog).slice(-RECENT_CAPTIONS);
    say(lines.length ? lines.join(" ") : "There are no captions yet.");
  }, { enabled: inCall });
  registerAction("read_last_caption", () => {
    const last = captionLines(hooks.captionLog).at(-1);
    say(last || "There are no captions yet.");
  }, { enabled: inCall });
  registerAction("check_in", () => hooks.checkIn(), { enabled: () => hooks.canCheckIn() });
  registerAction("start_symptom_check", () => hooks.startSymptomCheck(), {
    enabled: () => hooks.canStartSymptomCheck(),
  });
  // By voice the assistant has had its spoken yes; by key or click the page's own leave
  // dialog asks (so the registry's generic confirmation is not asked as well).
  setConfirmer(() => Promise.resolve(true));
  registerAction("end_call", ({ source }) => hooks.endCall({ confirmed: source === "voice" }), {
    enabled: inCall,
  });

  // The assistant's own actions (the registry says which): by voice it has already
  // answered; by key it is asked to.
  for (const id of assistantActions()) {
    registerAction(id, ({ source }) => {
      if (id === "help") hooks.helpPanel.open = true; // rendered on "toggle"
      if (source === "voice") return;
      if (id === "help") hooks.helpPanel.querySelector("summary").focus();
      const guide = hooks.guide();
      if (guide?.ready) guide.performByKey(id);
      else if (id === "where_am_i") say(whereText(hooks.page()));
    });
  }
  // Yes and no only answer the assistant's spoken questions: no handler on the page.

  hooks.helpPanel.addEventListener("toggle", () => {
    if (hooks.helpPanel.open) renderHelp(hooks.helpBody, hooks.page());
  });
  bindShortcuts(document);
  bindButtons(document);
}
