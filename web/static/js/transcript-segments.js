// One transcript's segments on the review page, as they are shown: speaker, time, the text
// with low-confidence words marked, and the Edit and History buttons (their behaviour is in
// transcript-corrections.js). Also the small helpers the review modules share.

const LOW_CONFIDENCE = 0.5;

/** A new element with DOM properties (`className`, `href`...) and children as text or nodes. */
export const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

/** Seconds from the start of the call as HH:MM:SS. */
export function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}

/** Who said a segment: their name, else their role. */
export function speakerOf(segment) {
  if (segment.speaker_name) return segment.speaker_name;
  return segment.speaker_role === "clinician" ? "Clinician" : "Patient";
}

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

/** The list item of one segment. */
export function renderSegment(segment) {
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
