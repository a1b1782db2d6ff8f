// The patient's camera and microphone check: the preview, the level meter, and what to do
// when the devices cannot be opened (the help panel, Try again, Join with chat only).

import { announce } from "./a11y.js";
import { stopStream } from "./call.js";
import { LevelMeter, NO_CAMERA_NOTE, openLocalMedia } from "./devices.js";
import { $ } from "./dom.js";

// The heading is made with its text, so the page never holds an empty heading.
function showDeviceHelp({ title, text }) {
  const heading = document.createElement("h3");
  heading.id = "device-help-title";
  heading.tabIndex = -1;
  heading.textContent = title;
  document.getElementById("device-help-title")?.remove();
  $("device-help").prepend(heading);
  $("device-help-text").textContent = text;
  $("device-help").hidden = false;
  heading.focus();
}

/** `say(text)` speaks to the patient while voice guidance is on. */
export class DeviceCheck {
  constructor({ say }) {
    this.say = say;
    this.stream = null; // the call's camera and microphone, once open
    this.meter = new LevelMeter($("level"), {
      onSound: () => announce("We can hear your microphone."),
    });
    $("try-again").addEventListener("click", () => this.open());
  }

  async open() {
    $("join-waiting-room").disabled = true;
    $("device-help").hidden = true;
    $("device-note").textContent = "Starting your camera and microphone…";
    stopStream(this.stream);
    this.meter.stop();
    const media = await openLocalMedia();
    this.stream = media.stream;
    $("preview").srcObject = this.stream;
    if (!this.stream) {
      $("device-note").textContent = "";
      showDeviceHelp(media.problem);
      return;
    }
    this.meter.start(this.stream);
    this.say("To join the waiting room, say 'check in'.");
    $("device-note").textContent = media.audioOnly
      ? NO_CAMERA_NOTE
      : "Your camera and microphone are working.";
    $("camera").disabled = media.audioOnly;
    $("join-waiting-room").disabled = false;
    announce(
      media.audioOnly
        ? `Your microphone is working. ${NO_CAMERA_NOTE}`
        : "Your camera and microphone are working. When you are ready, join the waiting room.",
    );
  }

  /** The preview is no longer shown (in the call, or the visit ended). */
  stopPreview() {
    this.meter.stop();
    $("preview").srcObject = null;
  }

  /** Close the camera and microphone for good. */
  close() {
    this.stopPreview();
    stopStream(this.stream);
  }
}
