// Corrections on the review page: a segment's text edited in place (Control+Enter saves,
// Escape cancels) and its edit history shown under it.

import { announce, formatDateTime } from "./a11y.js";
import { api } from "./api.js";
import { $ } from "./dom.js";
import { clock, el, renderSegment, speakerOf } from "./transcript-segments.js";

let visitId = null;
let segmentsById = new Map();
// The review page's handler of a failed call: true when it dealt with it (signed out).
let handleFailure = (_failure, _where) => false;

/** Show the `segments` of the transcript of visit `id` in #segments. */
export function showSegments(id, segments) {
  visitId = id;
  segmentsById = new Map(segments.map((s) => [s.id, s]));
  $("segments").replaceChildren(...segments.map(renderSegment));
}

/** Wire the segment buttons and edit forms; `onFailure(failure, where)` as handleFailure. */
export function mountCorrections({ onFailure }) {
  handleFailure = onFailure;
  $("segments").addEventListener("click", onSegmentsClick);
  $("segments").addEventListener("keydown", onSegmentsKeydown);
  $("segments").addEventListener("submit", (event) => {
    event.preventDefault();
    saveEdit(event.target);
  });
}

function itemOf(node) {
  return node.closest("li.segment");
}

function startEdit(item) {
  if (item.querySelector("form")) return;
  const segment = segmentsById.get(Number(item.dataset.segmentId));
  const time = clock(segment.start_s);
  const text = item.querySelector(".segment-text");
  const field = `edit-${segment.id}`;
  const error = el("p", { className: "error", id: `${field}-error` });
  error.setAttribute("role", "alert");
  const input = el("textarea", { id: field, rows: 3, maxLength: 5000, value: segment.text });
  input.setAttribute("aria-describedby", `${field}-hint ${field}-error`);
  const form = el("form", { className: "segment-edit", noValidate: true },
    el("label", { htmlFor: field }, `Corrected text (${speakerOf(segment)}, ${time})`),
    input,
    el("p", { className: "hint", id: `${field}-hint` }, "Control+Enter saves, Escape cancels."),
    error,
    el("div", { className: "actions" },
      el("button", { type: "submit" }, "Save"),
      el("button", { type: "button", className: "secondary" }, "Cancel")));
  form.querySelector("button[type=button]").dataset.action = "cancel";
  text.hidden = true;
  item.querySelector(".segment-actions").hidden = true;
  text.after(form);
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
}

function endEdit(item, { announceText } = {}) {
  const segment = segmentsById.get(Number(item.dataset.segmentId));
  const fresh = renderSegment(segment);
  item.replaceWith(fresh);
  fresh.querySelector("button[data-action=edit]").focus();
  if (announceText) announce(announceText);
}

async function saveEdit(form) {
  const item = itemOf(form);
  const id = Number(item.dataset.segmentId);
  const input = form.querySelector("textarea");
  const error = form.querySelector(".error");
  if (!input.value.trim()) {
    error.textContent = "The corrected text cannot be empty.";
    input.focus();
    return;
  }
  try {
    const saved = await api(
      `/api/transcripts/${encodeURIComponent(visitId)}/segments/${id}`,
      { method: "PUT", body: { text: input.value } },
    );
    segmentsById.set(id, saved);
    endEdit(item, { announceText: `Correction saved for the segment at ${clock(saved.start_s)}.` });
  } catch (failure) {
    if (!handleFailure(failure, error)) {
      error.textContent = `Not saved: ${failure.message}`;
      input.focus();
    }
  }
}

async function toggleHistory(button) {
  const panel = document.getElementById(button.getAttribute("aria-controls"));
  const open = button.getAttribute("aria-expanded") === "true";
  if (open) {
    button.setAttribute("aria-expanded", "false");
    panel.hidden = true;
    return;
  }
  const id = Number(itemOf(button).dataset.segmentId);
  try {
    const data = await api(
      `/api/transcripts/${encodeURIComponent(visitId)}/segments/${id}/history`,
    );
    const list = el("ol", { className: "history-list" },
      el("li", {}, `Recognized (${data.model || data.engine}), ` +
        `${formatDateTime(data.recognized_at)}: `, el("q", {}, data.original_text)));
    for (const edit of data.edits) {
      list.append(el("li", {}, `Corrected by ${edit.editor_name}, ` +
        `${formatDateTime(edit.edited_at)}: `, el("q", {}, edit.text)));
    }
    panel.replaceChildren(el("p", { className: "history-title" }, "Edit history, oldest first"),
      list);
  } catch (failure) {
    if (handleFailure(failure)) return;
    panel.replaceChildren(el("p", { className: "error" },
      `The history could not be loaded: ${failure.message}`));
  }
  panel.hidden = false;
  button.setAttribute("aria-expanded", "true");
}

function onSegmentsClick(event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const item = itemOf(button);
  if (button.dataset.action === "edit") startEdit(item);
  else if (button.dataset.action === "cancel") endEdit(item, { announceText: "Edit cancelled." });
  else if (button.dataset.action === "history") toggleHistory(button);
}

function onSegmentsKeydown(event) {
  if (event.target.tagName !== "TEXTAREA") return;
  if (event.key === "Escape") {
    event.preventDefault();
    endEdit(itemOf(event.target), { announceText: "Edit cancelled." });
  } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    event.target.form.requestSubmit();
  }
}
