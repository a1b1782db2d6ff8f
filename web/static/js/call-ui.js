// @ts-check
// Pieces of the call view shared by the clinician's and the patient's pages: video
// tiles, the mute and camera buttons, chat and confirm dialogs (captions: captions.js).

import { announce } from "./a11y.js";
import { getAction, registerAction } from "./actions.js";

const MAX_LOG_ITEMS = 500;

/** @typedef {import("./signaling.js").SignalingClient} SignalingClient */
/**
 * @typedef {object} Tile
 * @property {string} peerId
 * @property {HTMLElement} figure
 * @property {HTMLVideoElement} video
 * @property {HTMLElement} caption
 * @property {boolean} audioOn
 * @property {boolean} videoOn
 * @property {string} connection the RTCPeerConnection's state ("" until known)
 */

/**
 * @param {HTMLElement} list
 * @param {HTMLElement} item
 */
function appendBounded(list, item) {
  list.append(item);
  while (list.children.length > MAX_LOG_ITEMS) list.firstElementChild?.remove();
  list.scrollTop = list.scrollHeight;
}

/**
 * Play a video element; browsers may refuse sound until the user has interacted.
 * @param {HTMLVideoElement} video
 * @param {() => void} onBlocked
 */
function play(video, onBlocked) {
  const attempt = video.play();
  if (attempt && typeof attempt.catch === "function") {
    attempt.catch((/** @type {unknown} */ error) => {
      if (error instanceof DOMException && error.name === "NotAllowedError") onBlocked();
    });
  }
}

/**
 * The remote video tiles, one per peer, inside `container`. `playButton` is shown if the
 * browser blocks playback with sound until a click.
 */
export class RemoteTiles {
  /**
   * @param {HTMLElement} container
   * @param {HTMLButtonElement} playButton
   */
  constructor(container, playButton) {
    this.container = container;
    this.playButton = playButton;
    /** @type {Map<string, Tile>} */
    this.tiles = new Map();
    /** @type {Map<string, string>} peer id -> display name */
    this.names = new Map();
    playButton.addEventListener("click", () => {
      for (const tile of this.tiles.values()) tile.video.play().catch(() => {});
      playButton.hidden = true;
    });
  }

  /**
   * @param {string} peerId
   * @param {string} name
   */
  setName(peerId, name) {
    this.names.set(peerId, name);
    const tile = this.tiles.get(peerId);
    if (tile) this.#describe(tile);
  }

  /** @param {Tile} tile */
  #describe(tile) {
    const name = this.names.get(tile.peerId) || "Other participant";
    const notes = [];
    if (!tile.audioOn) notes.push("microphone muted");
    if (!tile.videoOn) notes.push("camera off");
    if (["disconnected", "failed"].includes(tile.connection)) {
      notes.push(`connection ${tile.connection}`);
    }
    tile.caption.textContent = notes.length ? `${name} (${notes.join(", ")})` : name;
  }

  /** @param {string} peerId */
  #ensure(peerId) {
    let tile = this.tiles.get(peerId);
    if (tile) return tile;
    const figure = document.createElement("figure");
    figure.className = "tile";
    figure.dataset.peerId = peerId;
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    const caption = document.createElement("figcaption");
    figure.append(video, caption);
    this.container.append(figure);
    tile = { peerId, figure, video, caption, audioOn: true, videoOn: true, connection: "" };
    this.tiles.set(peerId, tile);
    this.#describe(tile);
    return tile;
  }

  /**
   * @param {string} peerId
   * @param {MediaStream} stream
   */
  show(peerId, stream) {
    const tile = this.#ensure(peerId);
    if (tile.video.srcObject !== stream) tile.video.srcObject = stream;
    play(tile.video, () => {
      this.playButton.hidden = false;
    });
  }

  /**
   * @param {string} peerId
   * @param {boolean} audio
   * @param {boolean} video
   */
  setMediaState(peerId, audio, video) {
    const tile = this.#ensure(peerId);
    tile.audioOn = audio;
    tile.videoOn = video;
    this.#describe(tile);
  }

  /**
   * @param {string} peerId
   * @param {string} state
   */
  setConnectionState(peerId, state) {
    const tile = this.tiles.get(peerId);
    if (!tile) return;
    tile.connection = state;
    this.#describe(tile);
  }

  /** @param {string} peerId */
  remove(peerId) {
    const tile = this.tiles.get(peerId);
    if (!tile) return;
    tile.video.srcObject = null;
    tile.figure.remove();
    this.tiles.delete(peerId);
  }

  clear() {
    for (const peerId of [...this.tiles.keys()]) this.remove(peerId);
  }
}

/**
 * Toggle button `button` performs one of two opposite registry actions (one shortcut).
 * @param {HTMLButtonElement} button
 * @param {string} whenOff the action while not pressed
 * @param {string} whenOn the action while pressed
 */
function registerToggle(button, whenOff, whenOn) {
  const usable = () => !button.disabled && !button.closest("[hidden]");
  const pressed = () => button.getAttribute("aria-pressed") === "true";
  if (!getAction(whenOff) || !getAction(whenOn)) return; // no registry: clicks still work
  registerAction(whenOff, () => button.click(), { enabled: () => usable() && !pressed() });
  registerAction(whenOn, () => button.click(), { enabled: () => usable() && pressed() });
}

/**
 * The Mute and Camera off toggle buttons (aria-pressed), performed also by the registry's
 * mute/unmute and camera_off/camera_on actions (their shortcuts, and voice).
 * `getCall()` is the CallSession, or anything with setAudio/setVideo.
 * @param {object} options
 * @param {HTMLButtonElement} options.muteButton
 * @param {HTMLButtonElement} options.cameraButton
 * @param {() => ({ setAudio(on: boolean): void, setVideo(on: boolean): void } | null | undefined)} options.getCall
 */
export function mountMediaControls({ muteButton, cameraButton, getCall }) {
  muteButton.setAttribute("aria-pressed", "false");
  cameraButton.setAttribute("aria-pressed", "false");
  muteButton.addEventListener("click", () => {
    const muted = muteButton.getAttribute("aria-pressed") !== "true";
    muteButton.setAttribute("aria-pressed", String(muted));
    getCall()?.setAudio(!muted);
    announce(muted ? "Your microphone is muted." : "Your microphone is on.");
  });
  cameraButton.addEventListener("click", () => {
    const off = cameraButton.getAttribute("aria-pressed") !== "true";
    cameraButton.setAttribute("aria-pressed", String(off));
    getCall()?.setVideo(!off);
    announce(off ? "Your camera is off." : "Your camera is on.");
  });
  registerToggle(muteButton, "mute", "unmute");
  registerToggle(cameraButton, "camera_off", "camera_on");
}

/**
 * The chat panel: a role="log" region of messages and a form.
 * @param {object} options
 * @param {HTMLFormElement} options.form
 * @param {HTMLInputElement | HTMLTextAreaElement} options.input
 * @param {HTMLElement} options.log
 * @param {SignalingClient} options.signaling
 */
export function mountChat({ form, input, log, signaling }) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) {
      input.focus();
      return;
    }
    if (signaling.chat(text.slice(0, 2000))) {
      input.value = "";
    } else {
      announce("Not connected: your message was not sent. Try again in a moment.");
    }
  });
  signaling.on("chat", (/** @type {{ from: string, name: string, text: string }} */ message) => {
    const item = document.createElement("p");
    const from = document.createElement("span");
    from.className = "from";
    const mine = message.from === signaling.peerId;
    from.textContent = mine ? "You: " : `${message.name}: `;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text;
    item.append(from, text);
    appendBounded(log, item);
  });
}

/** @type {WeakMap<HTMLDialogElement, () => void>} the question each dialog is asking */
const openQuestions = new WeakMap();

/**
 * Ask a yes/no question in a modal <dialog>; resolve true if confirmed.
 * The dialog's buttons carry value="confirm" / value="cancel".
 *
 * A dialog's close event is queued, not dispatched at once: a quick Escape then Enter can
 * reopen the dialog before the first close event arrives. That late event must neither
 * answer the new question nor leave the old one hanging, so each question is settled once,
 * with the answer its own closing gave.
 * @param {HTMLDialogElement} dialog
 * @returns {Promise<boolean>}
 */
export function confirmWith(dialog) {
  openQuestions.get(dialog)?.(); // answered already; only its close event is still queued
  return new Promise((resolve) => {
    const settle = () => {
      dialog.removeEventListener("close", onClose);
      openQuestions.delete(dialog);
      resolve(dialog.returnValue === "confirm");
    };
    const onClose = () => {
      if (!dialog.open) settle(); // while open again, it is an earlier closing's event
    };
    openQuestions.set(dialog, settle);
    dialog.returnValue = "";
    dialog.addEventListener("close", onClose);
    dialog.showModal();
  });
}
