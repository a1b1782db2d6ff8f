// The dialog of session-timeout.js: the warning with its countdown and Stay button, and the
// message once the session has ended. session-timeout.js decides when; this says what.

const ANNOUNCE_AT_S = [60, 30, 10]; // the countdown is shown every second, said only here

function element(name, attributes = {}, text = "") {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  node.textContent = text;
  return node;
}

/** "1 minute 5 seconds": the time left in words, as it is shown and said. */
function formatLeft(seconds) {
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  const parts = [];
  if (minutes) parts.push(`${minutes} ${minutes === 1 ? "minute" : "minutes"}`);
  if (rest || !minutes) parts.push(`${rest} ${rest === 1 ? "second" : "seconds"}`);
  return parts.join(" ");
}

/**
 * The session dialog, added to the page when made. `kind` holds its texts (KINDS in
 * session-timeout.js); `onStay` extends the session, `onSignOut` signs out, and
 * `isWarning()` says whether Escape means "stay" (during the warning) or just "close".
 */
export class TimeoutDialog {
  constructor(kind, { onStay, onSignOut, isWarning }) {
    this.kind = kind;
    this.lastSaid = Infinity; // seconds left at the last announcement
    const dialog = element("dialog", {
      class: "session-timeout",
      "aria-labelledby": "session-timeout-heading",
    });
    this.dialog = dialog;
    this.heading = element("h2", { id: "session-timeout-heading" });
    this.text = element("p", { id: "session-timeout-text" });
    // Said at the start and at 60, 30 and 10 seconds; never every second.
    this.news = element("p", { role: "status", class: "visually-hidden" });
    this.error = element("p", { class: "error", role: "alert" });

    this.warningActions = element("div", { class: "actions" });
    this.stay = element("button", { type: "button" }, kind.stayLabel);
    this.stay.addEventListener("click", onStay);
    this.warningActions.append(this.stay);
    if (kind.signOutLabel) {
      const signOut = element("button", { type: "button", class: "secondary" }, kind.signOutLabel);
      signOut.addEventListener("click", onSignOut);
      this.warningActions.append(signOut);
    }

    this.expiredActions = element("div", { class: "actions" });
    this.signIn = null;
    if (kind.signInLabel) {
      this.signIn = element("a", { class: "button-link", href: kind.signInHref }, kind.signInLabel);
      this.expiredActions.append(this.signIn);
    }
    // Closing keeps what is on screen (a call in progress, say) readable.
    this.closeButton = element("button", { type: "button", class: "secondary" }, "Close");
    this.closeButton.addEventListener("click", () => dialog.close());
    this.expiredActions.append(this.closeButton);

    dialog.append(this.heading, this.text, this.news, this.error, this.warningActions,
      this.expiredActions);
    // Escape means "stay", the safe choice; after the end it just closes the message.
    dialog.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !isWarning()) return;
      event.preventDefault();
      onStay();
    });
    dialog.addEventListener("cancel", (event) => {
      if (!isWarning()) return;
      event.preventDefault();
      onStay();
    });
    document.body.append(dialog);
  }

  get open() {
    return this.dialog.open;
  }

  close() {
    this.dialog.close();
  }

  #say(words) {
    // Emptied first and filled a moment later, so a region just shown is read out.
    this.news.textContent = "";
    setTimeout(() => {
      this.news.textContent = words;
    }, 100);
  }

  /** Open (or refresh) the warning: `seconds` are left. */
  warn(seconds) {
    const { kind } = this;
    this.heading.textContent = kind.warningHeading;
    this.text.replaceChildren(
      `${kind.warningText} `,
      element("strong", { role: "timer" }, formatLeft(seconds)),
      `. ${kind.stayHint}`,
    );
    this.dialog.removeAttribute("aria-describedby");
    this.error.textContent = "";
    this.warningActions.hidden = false;
    this.expiredActions.hidden = true;
    if (!this.dialog.open) this.dialog.showModal();
    this.stay.focus();
    this.lastSaid = seconds;
    this.#say(`${kind.warningText} ${formatLeft(seconds)}. ${kind.stayHint}`);
  }

  /** Show `seconds` left in the countdown; say it at the marks of ANNOUNCE_AT_S. */
  countdown(seconds) {
    const timerText = this.text.querySelector('[role="timer"]');
    if (timerText) timerText.textContent = formatLeft(seconds);
    const due = ANNOUNCE_AT_S.filter((mark) => seconds <= mark && mark < this.lastSaid);
    if (due.length) {
      this.lastSaid = Math.min(...due);
      this.#say(`${formatLeft(seconds)} left.`);
    }
  }

  /** Say that the session has ended, and how to go on. */
  expired() {
    const { kind } = this;
    this.heading.textContent = kind.expiredHeading;
    this.text.textContent = kind.expiredText;
    this.dialog.setAttribute("aria-describedby", "session-timeout-text");
    this.error.textContent = "";
    this.news.textContent = "";
    this.warningActions.hidden = true;
    this.expiredActions.hidden = false;
    if (!this.dialog.open) this.dialog.showModal();
    (this.signIn || this.closeButton).focus();
  }

  /** Extending did not work: say why, with Stay ready to try again. */
  failed(message) {
    this.error.textContent = message;
    if (!this.dialog.open) this.dialog.showModal(); // a close request may have closed it
    this.stay.focus();
  }
}
