// The clinician's transcript review: the list of visits with transcripts, one transcript
// (?visit=ID) with low-confidence words marked, corrections in place with their history,
// search across transcripts, and export links. Every text from the server goes in as text.

import { announce, formatDateTime, showView } from "./a11y.js";
import { ApiError, api } from "./api.js";
import { $ } from "./dom.js";
import { mountSignOut, showSignedIn } from "./staff-header.js";
import { statusLabel } from "./visit-status.js";

const LOW_CONFIDENCE = 0.5;
const CONSENT_LABELS = { granted: "Given", declined: "Declined", not_asked: "Not asked" };
const EXPORTS = [
  ["vtt", "WebVTT captions (.vtt)"],
  ["srt", "SubRip subtitles (.srt)"],
  ["txt", "Plain text (.txt)"],
  ["fhir", "FHIR DocumentReference (.json)"],
];

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

let visitId = null;
let segmentsById = new Map();

function labelOf(visit) {
  return visit.patient_label || "Unnamed patient";
}

/** Seconds from the start of the call as HH:MM:SS. */
function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}

function speakerOf(segment) {
  if (segment.speaker_name) return segment.speaker_name;
  return segment.speaker_role === "clinician" ? "Clinician" : "Patient";
}

function handleFailure(failure, where) {
  if (failure instanceof ApiError && failure.status === 401) {
    $("search-form").hidden = true;
    showView("signed-out", { heading: "Transcripts" });
    return true;
  }
  if (where) where.textContent = failure.message;
  return false;
}

// --- the list of transcripts -------------------------------------------------------------

async function showList() {
  const data = await api("/api/transcripts");
  const body = $("transcripts-body");
  body.replaceChildren();
  for (const visit of data.transcripts) {
    const when = formatDateTime(visit.scheduled_at);
    const link = el("a", { href: `/clinician/review?visit=${encodeURIComponent(visit.visit_id)}` });
    link.append("Open transcript", el("span", { className: "visually-hidden" },
      ` of ${labelOf(visit)}, ${when}`));
    const name = el("th", { scope: "row" }, labelOf(visit));
    body.append(el("tr", {},
      el("td", {}, when),
      name,
      el("td", {}, CONSENT_LABELS[visit.consent] || visit.consent),
      el("td", {}, String(visit.segment_count)),
      el("td", {}, String(visit.chat_count)),
      el("td", {}, link)));
  }
  const empty = data.transcripts.length === 0;
  $("no-transcripts").hidden = !empty;
  $("transcripts-table").hidden = empty;
  showView("list", { heading: "Transcripts", focus: false });
}

// --- search --------------------------------------------------------------------------

/** The snippet as text with <mark> around the matched ranges. */
function markedSnippet(hit) {
  const out = el("span", { className: "snippet" });
  let at = 0;
  for (const [start, end] of hit.marks) {
    out.append(hit.snippet.slice(at, start), el("mark", {}, hit.snippet.slice(start, end)));
    at = end;
  }
  out.append(hit.snippet.slice(at));
  return out;
}

async function search(event) {
  event.preventDefault();
  const query = $("search-input").value.trim();
  const error = $("search-error");
  if (!query) {
    error.textContent = "Type one or more words to search for.";
    $("search-input").focus();
    return;
  }
  error.textContent = "";
  let data;
  try {
    data = await api(`/api/transcripts/search?q=${encodeURIComponent(query)}`);
  } catch (failure) {
    if (!handleFailure(failure, error)) error.textContent = `Search failed: ${failure.message}`;
    return;
  }
  if (visitId !== null) {
    // Searching from a transcript goes back to the list, where results are shown.
    visitId = null;
    history.pushState(null, "", "/clinician/review");
    await showList().catch((failure) => handleFailure(failure, error));
  }
  const list = $("results-list");
  list.replaceChildren();
  for (const hit of data.hits) {
    const href =
      `/clinician/review?visit=${encodeURIComponent(hit.visit_id)}#segment-${hit.segment_id}`;
    const title = `${labelOf(hit)}, ${formatDateTime(hit.scheduled_at)}, ` +
      `${hit.speaker_name || "Speaker"} at ${clock(hit.start_s)}`;
    list.append(el("li", {}, el("a", { href }, title), el("br"), markedSnippet(hit)));
  }
  const count = data.hits.length;
  const summary = count === 0
    ? `No segments match “${query}”.`
    : `${count} ${count === 1 ? "segment matches" : "segments match"} “${query}”.`;
  $("results-summary").textContent = summary;
  $("search-results").hidden = false;
  $("results-heading").focus();
  announce(summary);
}

// --- one transcript ------------------------------------------------------------------

function renderText(segment) {
  const p = el("p", { className: "segment-text", id: `segment-text-${segment.id}` });
  // Word confidences belong to the recognized text; a corrected segment was checked by a
  // person, so it is shown as plain text.
  if (segment.edited || segment.words.length === 0) {
    p.append(segment.text);
    return p;
  }
  segment.words.forEach((word, index) => {
    if (index > 0) p.append(" ");
    if (word.confidence < LOW_CONFIDENCE) {
      p.append(el("span", { className: "uncertain" }, word.text,
        el("span", { className: "visually-hidden" }, " (uncertain)")));
    } else {
      p.append(word.text);
    }
  });
  return p;
}

function renderSegment(segment) {
  const time = clock(segment.start_s);
  const item = el("li", { className: "segment", id: `segment-${segment.id}`, tabIndex: -1 });
  item.dataset.segmentId = String(segment.id);
  const meta = el("p", { className: "segment-meta" },
    el("span", { className: "speaker" }, speakerOf(segment)),
    " ",
    el("span", { className: "time" }, time));
  if (segment.edited) meta.append(" ", el("span", { className: "badge edited" }, "Edited"));
  const edit = el("button", { type: "button", className: "secondary" }, "Edit",
    el("span", { className: "visually-hidden" }, ` segment at ${time}`));
  edit.dataset.action = "edit";
  const historyButton = el("button", { type: "button", className: "secondary" }, "History",
    el("span", { className: "visually-hidden" }, ` of segment at ${time}`));
  historyButton.dataset.action = "history";
  historyButton.setAttribute("aria-expanded", "false");
  historyButton.setAttribute("aria-controls", `history-${segment.id}`);
  if (!segment.edited) historyButton.hidden = true;
  const panel = el("div", { className: "segment-history", id: `history-${segment.id}` });
  panel.hidden = true;
  item.append(meta, renderText(segment),
    el("div", { className: "actions segment-actions" }, edit, historyButton), panel);
  return item;
}

function renderChat(chat) {
  const list = $("chat");
  list.replaceChildren();
  for (const message of chat) {
    const sender = message.sender_name || (message.sender_role === "clinician" ? "Clinician" : "Patient");
    list.append(el("li", {},
      el("span", { className: "from" }, sender), " ",
      el("span", { className: "time" }, formatDateTime(message.sent_at)), ": ",
      message.text));
  }
  $("no-chat").hidden = chat.length > 0;
}

function describeConsent(consent) {
  const label = CONSENT_LABELS[consent.state] || consent.state;
  return consent.decided_at ? `${label} (${formatDateTime(consent.decided_at)})` : label;
}

async function showTranscript(id) {
  const data = await api(`/api/transcripts/${encodeURIComponent(id)}`);
  const { visit } = data;
  $("fact-scheduled").textContent = formatDateTime(visit.scheduled_at);
  $("fact-status").textContent = statusLabel(visit.status);
  $("fact-consent").textContent = describeConsent(data.consent);
  $("export-links").replaceChildren(...EXPORTS.map(([format, label]) => el("li", {},
    el("a", {
      href: `/api/transcripts/${encodeURIComponent(id)}/export?format=${format}`,
      download: "",
    }, label))));
  segmentsById = new Map(data.segments.map((s) => [s.id, s]));
  $("segments").replaceChildren(...data.segments.map(renderSegment));
  $("no-segments").hidden = data.segments.length > 0;
  renderChat(data.chat);
  showView("transcript", {
    heading: `Transcript: ${labelOf(visit)}, ${formatDateTime(visit.scheduled_at)}`,
    focus: false,
  });
  const target = location.hash && document.getElementById(location.hash.slice(1));
  if (target) {
    target.classList.add("is-target");
    target.focus();
  }
}

// --- corrections ---------------------------------------------------------------------

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

// --- start ---------------------------------------------------------------------------

async function route() {
  visitId = new URLSearchParams(location.search).get("visit");
  try {
    if (visitId) await showTranscript(visitId);
    else await showList();
  } catch (failure) {
    if (handleFailure(failure)) return;
    $("problem-text").textContent =
      failure instanceof ApiError && failure.status === 404
        ? "There is no such transcript among your visits."
        : failure.message;
    showView("problem", { heading: "Transcripts" });
  }
}

async function start() {
  $("search-form").addEventListener("submit", search);
  $("segments").addEventListener("click", onSegmentsClick);
  $("segments").addEventListener("keydown", onSegmentsKeydown);
  $("segments").addEventListener("submit", (event) => {
    event.preventDefault();
    saveEdit(event.target);
  });
  window.addEventListener("popstate", route);
  let me;
  try {
    me = await api("/api/auth/me");
  } catch (failure) {
    handleFailure(failure);
    if (!(failure instanceof ApiError && failure.status === 401)) {
      $("problem-text").textContent = failure.message;
      showView("problem", { heading: "Transcripts" });
    }
    return;
  }
  showSignedIn(me);
  mountSignOut(() => location.assign("/clinician"));
  $("search-form").hidden = false;
  await route();
}

start();
