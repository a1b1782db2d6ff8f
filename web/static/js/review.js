// The clinician's transcript review: the list of visits with transcripts, one transcript
// (?visit=ID) with low-confidence words marked, corrections in place with their history,
// search across transcripts, and export links. Every text from the server goes in as text.

import { announce, formatDateTime, showView } from "./a11y.js";
import { ApiError, api } from "./api.js";
import { $ } from "./dom.js";
import { mountSignOut, showSignedIn } from "./staff-header.js";
import { mountCorrections, showSegments } from "./transcript-corrections.js";
import { mountSearch } from "./transcript-search.js";
import { el } from "./transcript-segments.js";
import { patientLabel as labelOf, statusLabel } from "./visit-status.js";

const CONSENT_LABELS = { granted: "Given", declined: "Declined", not_asked: "Not asked" };
const EXPORTS = [
  ["vtt", "WebVTT captions (.vtt)"],
  ["srt", "SubRip subtitles (.srt)"],
  ["txt", "Plain text (.txt)"],
  ["fhir", "FHIR DocumentReference (.json)"],
];

let visitId = null;

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

// Searching from a transcript goes back to the list, where results are shown.
async function leaveTranscript(where) {
  if (visitId === null) return;
  visitId = null;
  history.pushState(null, "", "/clinician/review");
  await showList().catch((failure) => handleFailure(failure, where));
}

// --- one transcript ------------------------------------------------------------------

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
  showSegments(id, data.segments);
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
  mountSearch({ onFailure: handleFailure, beforeResults: leaveTranscript });
  mountCorrections({ onFailure: handleFailure });
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
