// The parts of the intake form, one function per kind of question (web/js/intake-form.js
// puts them together). Each question builder returns the question's controller: its
// wrapper, controls, error line and how to read its answer, so the form can validate,
// switch it on and off and show errors without knowing its kind.

import { make } from "./dom.js";
import { EXT_EXCLUSIVE, EXT_MAX, EXT_MIN, extension, parserOf } from "./intake-questionnaire.js";

const UNITS = {
  age: [["years", "a"], ["months", "mo"], ["weeks", "wk"], ["days", "d"]],
  duration: [["minutes", "min"], ["hours", "h"], ["days", "d"], ["weeks", "wk"],
    ["months", "mo"], ["years", "a"]],
};
const DEFAULT_UNIT = { age: "years", duration: "days" };
// Several controls answer one of these: a fieldset whose legend is the question.
const FIELDSET_PARSERS = ["choice", "boolean", "age", "duration"];

/** `text` made safe to use inside an id. */
export function safeId(text) {
  return String(text).replace(/[^A-Za-z0-9_-]/g, "_");
}

/** A heading of `level`, kept within h1..h6 however deep the questionnaire nests. */
export function heading(level, id, text) {
  const tag = /** @type {"h1"} */ (`h${Math.min(Math.max(level, 1), 6)}`);
  return make(tag, { id, text });
}

/** A group of questions: a section under its heading (when the group has a text). */
export function groupSection(item, id, level) {
  if (!item.text) return make("section", { className: "intake-group" });
  return make("section", { className: "intake-group", attrs: { "aria-labelledby": `${id}-h` } },
    heading(level, `${id}-h`, item.text));
}

/** A display item: text between the questions. */
export function displayNote(item) {
  return make("p", { className: "intake-display", text: item.text || "" });
}

/** The controller of one question `item`, its controls built by its kind. */
export function questionField(item, id) {
  const parser = parserOf(item);
  const hint = hintFor(item, parser);
  const hintId = `${id}-hint`;
  const question = {
    item,
    parser,
    wrapper: make("div", { className: "intake-question", attrs: { "data-link-id": item.linkId } }),
    error: make("p", { className: "intake-field-error error", id: `${id}-error`,
      attrs: { hidden: "" } }),
    hintNode: hint ? make("p", { className: "hint", id: hintId, text: hint }) : null,
    required: item.required
      ? make("span", { className: "intake-required", text: " (required)" }) : null,
    controls: [],
    describedBy: hint ? [hintId] : [],
    describedOn: null,
    read: null,
    quantity: null,
    focusTarget: null,
  };
  if (parser === "age" || parser === "duration") quantityField(question, id);
  else if (FIELDSET_PARSERS.includes(parser)) optionsField(question, id);
  else textField(question, id);
  question.focusTarget = question.controls[0];
  describe(question);
  return question;
}

/** Point the question's aria-describedby at its hint and, when shown, its error. */
export function describe(question) {
  const ids = [...question.describedBy];
  if (!question.error.hidden) ids.push(question.error.id);
  if (ids.length) question.describedOn.setAttribute("aria-describedby", ids.join(" "));
  else question.describedOn.removeAttribute("aria-describedby");
}

function hintFor(item, parser) {
  const min = extension(item, EXT_MIN, "valueInteger");
  const max = extension(item, EXT_MAX, "valueInteger");
  if (parser === "integer" && min !== undefined && max !== undefined) {
    return `A whole number from ${min} to ${max}.`;
  }
  if (parser === "list") return "One per line. Write “none” if there are none.";
  if (parser === "choice" && item.repeats) return "Select all that apply.";
  return "";
}

function fieldset(question) {
  const { item, required, hintNode, error } = question;
  const set = make("fieldset", { className: "intake-fieldset" },
    make("legend", { text: item.text }, required), hintNode, error);
  question.wrapper.append(set);
  question.describedOn = set;
  return set;
}

/** Free text, a list (one per line), a whole number or a date: one labelled control. */
function textField(question, id) {
  const { item, parser, required, hintNode, error } = question;
  const control = item.type === "text" && parser === "text" || parser === "list"
    ? make("textarea", { id, attrs: { name: item.linkId, rows: parser === "list" ? "4" : "3" } })
    : make("input", { id, attrs: {
      name: item.linkId,
      type: parser === "date" ? "date" : "text",
      ...(parser === "integer" ? { inputmode: "numeric" } : {}),
      autocomplete: "off",
    } });
  const label = make("label", { text: item.text, attrs: { for: id } }, required);
  question.wrapper.append(...[label, hintNode, error, control].filter((node) => node !== null));
  question.controls.push(control);
  question.describedOn = control;
  question.read = () => {
    const value = control.value.trim();
    if (parser !== "list") return value ? [value] : [];
    return control.value.split("\n").map((line) => line.trim()).filter(Boolean);
  };
}

/** Yes or no, one choice (radio buttons) or several (checkboxes). */
function optionsField(question, id) {
  const { item, parser } = question;
  const multiple = parser === "choice" && item.repeats;
  const choices = parser === "boolean"
    ? [{ code: "yes", display: "Yes" }, { code: "no", display: "No" }]
    : (item.answerOption || []).map((option) => ({
      ...option.valueCoding,
      exclusive: extension(option, EXT_EXCLUSIVE, "valueBoolean") === true,
    }));
  const list = make("div", { className: "intake-options" });
  choices.forEach((choice, index) => {
    const input = make("input", { id: `${id}-${index}`, attrs: {
      type: multiple ? "checkbox" : "radio", name: item.linkId, value: choice.code,
    } });
    input.dataset.exclusive = choice.exclusive ? "true" : "false";
    input.dataset.system = choice.system || "";
    question.controls.push(input);
    list.append(make("label", { className: "check", attrs: { for: input.id } }, input,
      choice.display || null));
  });
  fieldset(question).append(list);
  if (multiple) {
    // "None of these" and a symptom contradict each other: ticking one clears the other.
    list.addEventListener("change", (event) => {
      const changed = event.target;
      if (!changed.checked) return;
      const exclusive = changed.dataset.exclusive === "true";
      for (const other of question.controls) {
        if (other !== changed && (exclusive || other.dataset.exclusive === "true")) {
          other.checked = false;
        }
      }
    });
  }
  question.read = () => question.controls.filter((c) => c.checked).map((c) => c.value);
}

/** An age or a duration: a number and its unit. */
function quantityField(question, id) {
  const { item, parser } = question;
  const number = make("input", { id, className: "intake-number", attrs: {
    type: "text", inputmode: "numeric", autocomplete: "off", name: `${item.linkId}-value`,
  } });
  const unit = make("select", { id: `${id}-unit`, attrs: { name: `${item.linkId}-unit` } });
  for (const [name, code] of UNITS[parser]) {
    const option = make("option", { text: name, attrs: { value: name } });
    option.dataset.code = code;
    option.selected = name === DEFAULT_UNIT[parser];
    unit.append(option);
  }
  fieldset(question).append(make("div", { className: "intake-quantity" },
    make("div", {}, make("label", { text: "Number", attrs: { for: id } }), number),
    make("div", {}, make("label", { text: "Unit", attrs: { for: unit.id } }), unit)));
  question.controls.push(number, unit);
  question.read = () => (number.value.trim() ? [`${number.value.trim()} ${unit.value}`] : []);
  question.quantity = () => {
    const value = Number(number.value.trim());
    if (!number.value.trim() || !Number.isFinite(value)) return [];
    return [{ value, code: unit.selectedOptions[0].dataset.code }];
  };
}
