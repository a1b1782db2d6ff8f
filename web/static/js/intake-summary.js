// The one-screen intake summary in a modal dialog, shared by the dashboard and the call
// page. A native <dialog> opened with showModal() moves focus in and closes on Escape;
// focus is put back on the control that opened it, because rows and alerts can be
// re-rendered while the dialog is open.

import { ApiError, api } from "./api.js";

const STATUS_TEXT = {
  "in-progress": "The patient has not finished the intake yet.",
  completed: "The patient finished the intake.",
};

let dialog = null;
let returnFocusTo = null;

function element(tag, { className, text, id } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (id) node.id = id;
  if (text !== undefined) node.textContent = text;
  return node;
}

function ensureDialog() {
  if (dialog) return dialog;
  dialog = element("dialog", { className: "intake-dialog", id: "intake-dialog" });
  dialog.setAttribute("aria-labelledby", "intake-dialog-heading");
  const heading = element("h2", { id: "intake-dialog-heading", text: "Intake summary" });
  const body = element("div", { id: "intake-dialog-body" });
  const actions = element("div", { className: "actions" });
  const close = element("button", { text: "Close", id: "intake-dialog-close" });
  close.type = "button";
  close.addEventListener("click", () => dialog.close());
  actions.append(close);
  dialog.append(heading, body, actions);
  dialog.addEventListener("close", () => {
    const target = returnFocusTo;
    returnFocusTo = null;
    if (target && target.isConnected) target.focus();
  });
  (document.querySelector("main") || document.body).append(dialog);
  return dialog;
}

function renderFlags(flags) {
  const section = element("section", { className: "intake-urgent" });
  section.setAttribute("aria-labelledby", "intake-urgent-heading");
  section.append(
    element("h3", { id: "intake-urgent-heading", text: "Urgent: needs attention now" }),
  );
  const list = element("ul");
  for (const flag of flags) {
    const item = element("li");
    item.append(element("strong", { text: flag.title }));
    if (flag.advice) item.append(` (advice: ${flag.advice})`);
    list.append(item);
  }
  section.append(list);
  return section;
}

function renderSummary(summary) {
  const parts = [];
  if (summary.urgent && summary.flags.length) parts.push(renderFlags(summary.flags));
  parts.push(element("p", { text: STATUS_TEXT[summary.status] || "" }));
  const answersHeading = element("h3", { text: "Answers", id: "intake-answers-heading" });
  const answers = element("dl", { className: "intake-answers" });
  for (const line of summary.lines) {
    answers.append(element("dt", { text: line.label }), element("dd", { text: line.text }));
  }
  parts.push(answersHeading);
  parts.push(
    summary.lines.length ? answers : element("p", { text: "No answers have been given yet." }),
  );
  return parts;
}

/**
 * Open the summary of `visitId`'s intake in a modal dialog; focus returns to `opener`
 * (the button that was used) when it closes. `label` names the patient in the heading.
 */
export async function openIntakeSummary(visitId, { label = "", opener = null } = {}) {
  const box = ensureDialog();
  returnFocusTo = opener || document.activeElement;
  const heading = box.querySelector("#intake-dialog-heading");
  heading.textContent = label ? `Intake summary: ${label}` : "Intake summary";
  const body = box.querySelector("#intake-dialog-body");
  body.replaceChildren(element("p", { text: "Loading the intake…" }));
  if (!box.open) box.showModal();
  try {
    const summary = await api(`/api/visits/${encodeURIComponent(visitId)}/intake/summary`);
    body.replaceChildren(...renderSummary(summary));
  } catch (failure) {
    const text =
      failure instanceof ApiError && failure.status === 404
        ? "The patient has not started the intake."
        : `Could not load the intake: ${failure.message}`;
    body.replaceChildren(element("p", { className: "error", text }));
  }
}
