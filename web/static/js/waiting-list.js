// The clinician's waiting room list: one item per waiting patient with Admit and Deny
// buttons named with the patient ("Admit Sam"), and the "Nobody is waiting" note. Beside
// the name the patient typed, `describe(peer)` says who the server knows them as (their
// role, the label the clinic scheduled). Focus never drops to the page when an item goes:
// it moves to the panel's heading.

import { $ } from "./dom.js";

/** `admit(peerId)` and `deny(peerId)` are the buttons' handlers. */
export function waitingList({ admit, deny, describe = () => "" }) {
  function waitingItem(peerId) {
    return $("waiting-list").querySelector(`li[data-peer-id="${CSS.escape(peerId)}"]`);
  }

  function updateWaitingEmpty() {
    $("waiting-empty").hidden = $("waiting-list").children.length > 0;
  }

  function actionButton(label, name, className, handler) {
    const button = document.createElement("button");
    button.type = "button";
    if (className) button.className = className;
    button.append(label);
    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = ` ${name}`;
    button.append(who);
    button.addEventListener("click", handler);
    return button;
  }

  function addWaiting(peer) {
    if (waitingItem(peer.peer_id)) return;
    const item = document.createElement("li");
    item.dataset.peerId = peer.peer_id;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = peer.name;
    const known = describe(peer);
    if (known) {
      const note = document.createElement("span");
      note.className = "typed-name";
      note.textContent = known;
      who.append(note);
    }
    item.append(
      who,
      actionButton("Admit", peer.name, "", () => admit(peer.peer_id)),
      actionButton("Deny", peer.name, "secondary", () => deny(peer.peer_id)),
    );
    $("waiting-list").append(item);
    updateWaitingEmpty();
  }

  function removeWaiting(peerId) {
    const item = waitingItem(peerId);
    if (!item) return;
    const hadFocus = item.contains(document.activeElement);
    item.remove();
    updateWaitingEmpty();
    if (hadFocus) focusWaitingHeading();
  }

  // Keep keyboard users in the same place instead of dropping focus to the page.
  function focusWaitingHeading() {
    const heading = $("waiting-heading");
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }

  return {
    item: waitingItem,
    add: addWaiting,
    remove: removeWaiting,
    focusHeading: focusWaitingHeading,
    updateEmpty: updateWaitingEmpty,
  };
}
