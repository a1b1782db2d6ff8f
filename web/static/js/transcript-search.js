// Search across transcripts on the review page: the results list with the matched words
// marked, its summary said once.

import { announce, formatDateTime } from "./a11y.js";
import { api } from "./api.js";
import { $ } from "./dom.js";
import { patientLabel as labelOf } from "./visit-status.js";
import { clock, el } from "./transcript-segments.js";

/**
 * Wire the search form. `onFailure(failure, where)` handles a failed call (true when it
 * dealt with it); `beforeResults(where)` runs before results are shown (leave a transcript
 * for the list, where they go).
 */
export function mountSearch({ onFailure, beforeResults }) {
  $("search-form").addEventListener("submit", (event) =>
    search(event, { onFailure, beforeResults }),
  );
}

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

async function search(event, { onFailure, beforeResults }) {
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
    if (!onFailure(failure, error)) error.textContent = `Search failed: ${failure.message}`;
    return;
  }
  await beforeResults(error);
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
