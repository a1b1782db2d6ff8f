// Voice guidance on the patient's page: starting and stopping the guide (voice-guide.js)
// on a microphone track of its own, its Display settings checkbox, and the check-in form
// asked by voice (the consent question, then the name, read back to confirm).

import { announce } from "./a11y.js";
import { perform, voiceAvailable } from "./actions.js";
import { stopStream } from "./call.js";
import { $ } from "./dom.js";
import { VoiceGuide, rememberVoiceGuidance, voiceGuidanceWanted } from "./voice-guide.js";

/**
 * `context()` says where the patient is: {visitId, invite (before a session, else null),
 * rtcConfig, page, clinicianName, consent (the form's ConsentQuestion)}.
 */
export class PatientVoice {
  constructor(context) {
    this.context = context;
    this.guide = null; // the VoiceGuide, while it is on
    this.stream = null; // its own microphone: muting the call does not silence it
  }

  async start() {
    const { visitId, invite, rtcConfig, page } = this.context();
    if (this.guide || !visitId || !voiceGuidanceWanted() || !voiceAvailable()) return;
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      return; // no microphone (or not allowed): the page works by keyboard and screen reader
    }
    this.guide = new VoiceGuide({
      visitId, invite, stream: this.stream, rtcConfig, audio: $("guide-audio"),
    });
    this.guide.start(page);
    if (page === "join") this.#checkIn();
  }

  stop() {
    this.guide?.close();
    this.guide = null;
    stopStream(this.stream);
    this.stream = null;
  }

  /** The "Voice guidance" checkbox of the Display settings. */
  mountSetting(box) {
    box.checked = voiceGuidanceWanted();
    box.addEventListener("change", () => {
      rememberVoiceGuidance(box.checked);
      if (box.checked) this.start();
      else this.stop();
      announce(box.checked ? "Voice guidance is on." : "Voice guidance is off.");
    });
  }

  async #checkIn() {
    const { clinicianName, consent } = this.context();
    const who = clinicianName ? ` with ${clinicianName}` : "";
    const guide = this.guide;
    try {
      const saveCaptions = await guide.ask("consent", "yes_no",
        `Welcome to your video visit${who}. You can do every step by voice or with the ` +
        "keyboard. First, may we save the captions of this visit as a written record for " +
        "your clinician? You can see captions live either way. Please say yes or no.");
      consent.choose(saveCaptions);
      for (;;) {
        const name = await guide.ask("name", "name",
          "Thank you. Now please say your name, so the clinician knows who is waiting.");
        $("display-name").value = name;
        if (await guide.ask("name-check", "yes_no", `I heard ${name}. Is that right?`)) break;
      }
      await perform("check_in", "voice");
    } catch {
      /* the question was withdrawn: the patient went on another way */
    }
  }
}
