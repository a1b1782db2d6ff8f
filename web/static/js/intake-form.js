// The symptom intake as a keyboard form, built from the FHIR Questionnaire the server asks
// (GET /api/intake/questionnaire). The server reads the answers with the same parsers as
// the spoken intake (POST /api/patient/intake/form), so the form only collects text.
//
//   const form = renderIntakeForm(container, questionnaire, { onSubmit: submitIntakeAnswers });
//
// `onSubmit(answers)` gets `{linkId: string | string[]}` for the questions that apply and
// may resolve to `{errors: {linkId: message}}`: the form then shows each message next to
// its field and an error summary, which takes the focus. Questions switch on and off as
// their enableWhen conditions change, like in the spoken intake.

import {
  EXT_EXCLUSIVE, EXT_LABEL, EXT_MAX, EXT_MIN, enabledItems, extension, parserOf, walk,
} from "./intake-questionnaire.js";

const REQUIRED_MESSAGE = "Please answer this question.";
const UNITS = {
  age: [["years", "a"], ["months", "mo"], ["weeks", "wk"], ["days", "d"]],
  duration: [["minutes", "min"], ["hours", "h"], ["days", "d"], ["weeks", "wk"],
    ["months", "mo"], ["years", "a"]],
};
const DEFAULT_UNIT = { age: "years", duration: "days" };

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === undefined || value === null) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter(Boolean));
  return node;
}

function safeId(text) {
  return String(text).replace(/[^A-Za-z0-9_-]/g, "_");
}

/** Build the form inside `container` (its content is replaced); returns a small controller. */
export function renderIntakeForm(container, questionnaire, options = {}) {
  const {
    onSubmit = async () => ({}),
    headingLevel = 2,
    idPrefix = "intake",
    submitLabel = "Send my answers",
  } = options;
  const questions = new Map(); // linkId -> {item, parser, wrapper, controls, focusTarget, ...}
  const groups = new Map(); // linkId -> {item, wrapper}
  const order = walk(questionnaire.item); // every item, depth first, with its ancestors
  const heading = (level, attrs, text) =>
    el(`h${Math.min(Math.max(level, 1), 6)}`, { ...attrs, text });

  const form = el("form", { class: "intake-form", novalidate: true });
  const titleId = `${idPrefix}-title`;
  form.setAttribute("aria-labelledby", titleId);
  form.append(heading(headingLevel, { id: titleId }, questionnaire.title || "Before your visit"));
  form.append(el("p", { class: "hint", text: "Questions marked (required) need an answer. "
    + "Leave out anything you would rather not say." }));

  const summaryTitleId = `${idPrefix}-error-summary-title`;
  const summaryList = el("ul");
  const summary = el("div", {
    class: "intake-error-summary", tabindex: "-1", hidden: true,
    "aria-labelledby": summaryTitleId,
  }, heading(headingLevel + 1, { id: summaryTitleId }, "There is a problem"), summaryList);
  form.append(summary);

  function build(items, parent, level) {
    for (const item of items || []) {
      if (item.type === "group") {
        const id = `${idPrefix}-group-${safeId(item.linkId)}`;
        const section = el("section", { class: "intake-group", "aria-labelledby": `${id}-h` });
        if (item.text) section.append(heading(level, { id: `${id}-h` }, item.text));
        else section.removeAttribute("aria-labelledby");
        groups.set(item.linkId, { item, wrapper: section });
        parent.append(section);
        build(item.item, section, level + 1);
      } else if (item.type === "display") {
        const note = el("p", { class: "intake-display", text: item.text || "" });
        groups.set(item.linkId, { item, wrapper: note });
        parent.append(note);
      } else {
        const question = buildQuestion(item, `${idPrefix}-${safeId(item.linkId)}`);
        questions.set(item.linkId, question);
        parent.append(question.wrapper);
      }
    }
  }

  function buildQuestion(item, id) {
    const parser = parserOf(item);
    const errorId = `${id}-error`;
    const hintId = `${id}-hint`;
    const error = el("p", { class: "intake-field-error error", id: errorId, hidden: true });
    const required = item.required ? el("span", { class: "intake-required", text: " (required)" })
      : null;
    const hint = hintFor(item, parser);
    const hintNode = hint ? el("p", { class: "hint", id: hintId, text: hint }) : null;
    const wrapper = el("div", { class: "intake-question", "data-link-id": item.linkId });
    const question = { item, parser, wrapper, error, controls: [], describedBy: [], read: null };
    if (hintNode) question.describedBy.push(hintId);

    if (["choice", "boolean", "age", "duration"].includes(parser)) {
      // Several controls answer one question: a fieldset whose legend is the question.
      const fieldset = el("fieldset", { class: "intake-fieldset" },
        el("legend", { text: item.text }, required), hintNode, error);
      wrapper.append(fieldset);
      question.describedOn = fieldset;
      if (parser === "age" || parser === "duration") buildQuantity(question, fieldset, id);
      else buildOptions(question, fieldset, id);
    } else {
      const label = el("label", { for: id, text: item.text }, required);
      const control = parser === "text" && item.type === "text" || parser === "list"
        ? el("textarea", { id, name: item.linkId, rows: parser === "list" ? "4" : "3" })
        : el("input", { id, name: item.linkId, type: parser === "date" ? "date" : "text",
          inputmode: parser === "integer" ? "numeric" : undefined, autocomplete: "off" });
      wrapper.append(...[label, hintNode, error, control].filter(Boolean));
      question.controls.push(control);
      question.describedOn = control;
      question.read = () => {
        const value = control.value.trim();
        if (parser !== "list") return value ? [value] : [];
        return control.value.split("\n").map((line) => line.trim()).filter(Boolean);
      };
    }
    question.focusTarget = question.controls[0];
    describe(question);
    return question;
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

  function buildOptions(question, fieldset, id) {
    const { item, parser } = question;
    const multiple = parser === "choice" && item.repeats;
    const choices = parser === "boolean"
      ? [{ code: "yes", display: "Yes" }, { code: "no", display: "No" }]
      : (item.answerOption || []).map((option) => ({
        ...option.valueCoding,
        exclusive: extension(option, EXT_EXCLUSIVE, "valueBoolean") === true,
      }));
    const list = el("div", { class: "intake-options" });
    choices.forEach((choice, index) => {
      const input = el("input", {
        type: multiple ? "checkbox" : "radio", name: item.linkId, value: choice.code,
        id: `${id}-${index}`,
      });
      input.dataset.exclusive = choice.exclusive ? "true" : "false";
      input.dataset.system = choice.system || "";
      question.controls.push(input);
      list.append(el("label", { class: "check", for: input.id }, input, choice.display));
    });
    fieldset.append(list);
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

  function buildQuantity(question, fieldset, id) {
    const { parser } = question;
    const number = el("input", { id, type: "text", inputmode: "numeric", autocomplete: "off",
      class: "intake-number", name: `${question.item.linkId}-value` });
    const unit = el("select", { id: `${id}-unit`, name: `${question.item.linkId}-unit` });
    for (const [name, code] of UNITS[parser]) {
      const option = el("option", { value: name, text: name });
      option.dataset.code = code;
      option.selected = name === DEFAULT_UNIT[parser];
      unit.append(option);
    }
    fieldset.append(el("div", { class: "intake-quantity" },
      el("div", {}, el("label", { for: id, text: "Number" }), number),
      el("div", {}, el("label", { for: unit.id, text: "Unit" }), unit)));
    question.controls.push(number, unit);
    question.read = () => (number.value.trim() ? [`${number.value.trim()} ${unit.value}`] : []);
    question.quantity = () => {
      const value = Number(number.value.trim());
      if (!number.value.trim() || !Number.isFinite(value)) return [];
      return [{ value, code: unit.selectedOptions[0].dataset.code }];
    };
  }

  function describe(question) {
    const ids = [...question.describedBy];
    if (!question.error.hidden) ids.push(question.error.id);
    if (ids.length) question.describedOn.setAttribute("aria-describedby", ids.join(" "));
    else question.describedOn.removeAttribute("aria-describedby");
  }

  // --- enableWhen, as the server evaluates it ---------------------------------------------

  /** FHIR-like answer values of a question as the form holds them now. */
  function valuesOf(question) {
    const { parser } = question;
    if (parser === "age" || parser === "duration") return question.quantity();
    const raw = question.read();
    if (parser === "boolean") return raw.map((v) => v === "yes");
    if (parser === "integer") {
      return raw.filter((v) => /^-?\d+$/.test(v)).map(Number);
    }
    if (parser === "choice") {
      const chosen = question.controls.filter((c) => c.checked);
      return chosen.map((c) => ({ system: c.dataset.system || undefined, code: c.value }));
    }
    return raw;
  }

  function updateEnabled() {
    const enabled = enabledItems(order, (linkId) => {
      const question = questions.get(linkId);
      return question ? valuesOf(question) : [];
    });
    for (const [linkId, on] of enabled) {
      (questions.get(linkId) || groups.get(linkId)).wrapper.hidden = !on;
    }
    return enabled;
  }

  // --- answers, errors, submit ------------------------------------------------------------

  function answers() {
    const enabled = updateEnabled();
    const result = {};
    for (const [linkId, question] of questions) {
      if (!enabled.get(linkId)) continue;
      const values = question.read();
      if (!values.length) continue;
      const many = question.parser === "list" || (question.parser === "choice"
        && question.item.repeats);
      result[linkId] = many ? values : values[0];
    }
    return result;
  }

  function labelOf(question) {
    return extension(question.item, EXT_LABEL, "valueString") || question.item.text;
  }

  function clearErrors() {
    summary.hidden = true;
    summaryList.replaceChildren();
    for (const question of questions.values()) {
      question.error.hidden = true;
      question.error.textContent = "";
      question.wrapper.classList.remove("intake-question-invalid");
      for (const control of question.controls) control.removeAttribute("aria-invalid");
      describe(question);
    }
  }

  /** Show `errors` ({linkId: message}) by their fields and in the summary, then focus it. */
  function showErrors(errors) {
    clearErrors();
    const entries = Object.entries(errors || {});
    if (!entries.length) return;
    const known = [...questions.keys()];
    entries.sort(([a], [b]) => (known.indexOf(a) + 1 || 1e9) - (known.indexOf(b) + 1 || 1e9));
    for (const [linkId, message] of entries) {
      const question = questions.get(linkId);
      if (!question || question.wrapper.hidden) {
        summaryList.append(el("li", { text: message }));
        continue;
      }
      question.error.hidden = false;
      question.error.textContent = message;
      question.wrapper.classList.add("intake-question-invalid");
      for (const control of question.controls) control.setAttribute("aria-invalid", "true");
      describe(question);
      const link = el("a", { href: `#${question.focusTarget.id}`,
        text: `${labelOf(question)}: ${message}` });
      link.addEventListener("click", (event) => {
        event.preventDefault();
        question.focusTarget.focus();
      });
      summaryList.append(el("li", {}, link));
    }
    summary.hidden = false;
    summary.focus();
  }

  const status = el("p", { class: "intake-status", role: "status" });
  const submit = el("button", { type: "submit", text: submitLabel });
  let busy = false;

  form.addEventListener("input", updateEnabled);
  form.addEventListener("change", updateEnabled);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    const current = answers();
    const missing = {};
    for (const [linkId, question] of questions) {
      if (question.item.required && !question.wrapper.hidden && !(linkId in current)) {
        missing[linkId] = REQUIRED_MESSAGE;
      }
    }
    if (Object.keys(missing).length) {
      showErrors(missing);
      return;
    }
    busy = true;
    form.setAttribute("aria-busy", "true");
    status.textContent = "Sending your answers…";
    try {
      const result = await onSubmit(current);
      if (result && result.errors && Object.keys(result.errors).length) {
        status.textContent = "";
        showErrors(result.errors);
      } else {
        clearErrors();
        status.textContent = "Your answers were sent.";
      }
    } catch (error) {
      status.textContent = error && error.message ? error.message
        : "Your answers could not be sent. Please try again.";
    } finally {
      busy = false;
      form.removeAttribute("aria-busy");
    }
  });

  build(questionnaire.item, form, headingLevel + 1);
  form.append(el("div", { class: "actions" }, submit), status);
  container.replaceChildren(form);
  updateEnabled();
  return { form, answers, showErrors, clearErrors, updateEnabled };
}

/**
 * POST the answers to the server. Resolves with the server's answer: on success
 * `{response, urgent, flags, emergency_message}`, when fields were not understood
 * `{errors, urgent, flags, emergency_message}` (an urgent message can come either way).
 */
export async function submitIntakeAnswers(answers, { timeoutMs = 15000 } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch("/api/patient/intake/form", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ answers }),
      signal: controller.signal,
    });
    const data = await response.json().catch(() => null);
    if (response.ok || (response.status === 422 && data && data.errors)) return data;
    const detail = data && typeof data.detail === "string" ? data.detail : null;
    throw new Error(detail || `Your answers could not be sent (error ${response.status}).`);
  } catch (error) {
    if (error.name === "AbortError" || error instanceof TypeError) {
      throw new Error("The server could not be reached. Check your connection and try again.");
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The questionnaire to build the form from. */
export async function fetchIntakeQuestionnaire() {
  const response = await fetch("/api/intake/questionnaire", { credentials: "same-origin" });
  if (!response.ok) throw new Error("The questions could not be loaded. Please reload the page.");
  return response.json();
}
