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
  parts.push(answersHeading);
  parts.push(
    summary.lines.length
      ? renderAnswers(summary.lines)
      : element("p", { text: "No answers have been given yet." }),
  );
  return parts;
}

function renderAnswers(lines) {
  const answers = element("dl", { className: "intake-answers" });
  for (const line of lines) {
    answers.append(element("dt", { text: line.label }), element("dd", { text: line.text }));
  }
  return answers;
}

function renderVersion(version) {
  const item = element("li", { className: "intake-version" });
  const when = new Date(version.submitted_at).toLocaleString();
  const by = version.source === "voice" ? "by voice" : "by form";
  item.append(element("h4", { text: `Version ${version.version_id}, ${by}, ${when}` }));
  if (version.flags.length) {
    const titles = version.flags.map((flag) => flag.title).join("; ");
    item.append(element("p", { className: "intake-version-flags", text: `Urgent: ${titles}` }));
  }
  item.append(renderAnswers(version.lines));
  return item;
}

// Every submitted version, newest first, loaded when the clinician opens the section (so
// the summary alone does not record a history read).
function renderHistory(visitId) {
  const details = element("details", { className: "intake-history" });
  details.append(element("summary", { text: "All versions of the intake" }));
  const content = element("div");
  details.append(content);
  let loaded = false;
  details.addEventListener("toggle", async () => {
    if (!details.open || loaded) return;
    loaded = true;
    content.replaceChildren(element("p", { text: "Loading the versions…" }));
    try {
      const history = await api(`/api/visits/${encodeURIComponent(visitId)}/intake/history`);
      const list = element("ol", { className: "intake-versions" });
      list.setAttribute("reversed", "");
      for (const version of history.versions) list.append(renderVersion(version));
      content.replaceChildren(
        history.versions.length ? list : element("p", { text: "No version was submitted yet." }),
      );
    } catch (failure) {
      loaded = false;
      const text = `Could not load the versions: ${failure.message}`;
      content.replaceChildren(element("p", { className: "error", text }));
    }
  });
  return details;
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
    body.replaceChildren(...renderSummary(summary), renderHistory(visitId));
  } catch (failure) {
    const text =
      failure instanceof ApiError && failure.status === 404
        ? "The patient has not started the intake."
        : `Could not load the intake: ${failure.message}`;
    body.replaceChildren(element("p", { className: "error", text }));
  }
}
