// Camera and microphone: opening them with help a person can act on when it fails,
// and a microphone level meter (Web Audio AnalyserNode).

const VIDEO_CONSTRAINTS = { width: { ideal: 640 }, height: { ideal: 480 } };

/** Why the devices could not be used, in words, with what to do about it. */
export const DEVICE_PROBLEMS = {
  denied: {
    title: "Your browser is blocking the camera and microphone for this page.",
    text:
      "Select the camera icon (or the lock icon) in the address bar, choose Allow for the " +
      "camera and the microphone, then press Try again. You can also allow them in the " +
      "browser's Site settings for this site.",
  },
  missing: {
    title: "No microphone was found.",
    text:
      "Plug in or switch on a headset or microphone, check that it is not turned off in " +
      "your computer's settings, then press Try again.",
  },
  busy: {
    title: "The camera or microphone is in use by another program.",
    text: "Close other video call programs or browser tabs that use them, then press Try again.",
  },
  unsupported: {
    title: "This browser cannot use a camera or microphone here.",
    text:
      "Open the visit link in an up-to-date Chrome, Edge, Firefox or Safari. The address " +
      "must start with https.",
  },
  other: {
    title: "The camera and microphone could not be started.",
    text: "Check that they are connected and switched on, then press Try again.",
  },
};

/** The notice shown when only the camera is missing: the visit works with sound only. */
export const NO_CAMERA_NOTE =
  "No camera was found, so you will join with sound only. The clinician will still hear you.";

function problemKind(error) {
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "denied";
    case "NotFoundError":
    case "OverconstrainedError":
      return "missing";
    case "NotReadableError":
    case "AbortError":
      return "busy";
    default:
      return "other";
  }
}

/**
 * Open the microphone and camera. Resolves (never rejects) with
 * `{ stream, problem, kind, audioOnly }`: `stream` is null when nothing could be opened;
 * `audioOnly` is true when there is a microphone but no camera.
 */
export async function openLocalMedia() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { stream: null, kind: "unsupported", problem: DEVICE_PROBLEMS.unsupported };
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: VIDEO_CONSTRAINTS,
    });
    return { stream, kind: null, problem: null, audioOnly: false };
  } catch (error) {
    const kind = problemKind(error);
    if (kind !== "missing") return { stream: null, kind, problem: DEVICE_PROBLEMS[kind] };
  }
  // Something is missing: a microphone alone is enough for a visit.
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    return { stream, kind: null, problem: null, audioOnly: true };
  } catch (error) {
    const kind = problemKind(error);
    return { stream: null, kind, problem: DEVICE_PROBLEMS[kind] };
  }
}

/**
 * Shows the microphone's level in a <meter> (0-100) while started. `onSound` is called
 * once, the first time the level is clearly above silence.
 */
export class LevelMeter {
  constructor(meter, { onSound } = {}) {
    this.meter = meter;
    this.onSound = onSound || (() => {});
    this.context = null;
    this.timer = null;
    this.heard = false;
  }

  start(stream) {
    this.stop();
    if (!stream || stream.getAudioTracks().length === 0) return;
    const AudioContextClass = window.AudioContext || window.webkitAudioContext;
    if (!AudioContextClass) return;
    const context = new AudioContextClass();
    this.context = context;
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(stream).connect(analyser);
    context.resume().catch(() => {});
    const samples = new Float32Array(analyser.fftSize);
    // Ten updates a second is plenty to read and cheap; it is a level, not an animation.
    this.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      const rms = Math.sqrt(sum / samples.length);
      const decibels = rms > 0 ? 20 * Math.log10(rms) : -100;
      const level = Math.round(Math.max(0, Math.min(100, ((decibels + 60) / 60) * 100)));
      this.meter.value = level;
      if (!this.heard && level >= 15) {
        this.heard = true;
        this.onSound();
      }
    }, 100);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
    this.meter.value = 0;
  }
}
