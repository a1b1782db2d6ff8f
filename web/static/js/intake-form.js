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

import { make } from "./dom.js";
import {
  describe, displayNote, groupSection, heading, questionField, safeId,
} from "./intake-fields.js";
import { EXT_LABEL, enabledItems, extension, walk } from "./intake-questionnaire.js";

const REQUIRED_MESSAGE = "Please answer this question.";

/** Build the form inside `container` (its content is replaced); returns a small controller. */
export function renderIntakeForm(container, questionnaire, options = {}) {
  const {
    onSubmit = async () => ({}),
    headingLevel = 2,
    idPrefix = "intake",
    submitLabel = "Send my answers",
  } = options;
  const questions = new Map(); // linkId -> the question's controller (intake-fields.js)
  const groups = new Map(); // linkId -> {item, wrapper}
  const order = walk(questionnaire.item); // every item, depth first, with its ancestors

  const titleId = `${idPrefix}-title`;
  const form = make("form", { className: "intake-form",
    attrs: { novalidate: "", "aria-labelledby": titleId } },
  heading(headingLevel, titleId, questionnaire.title || "Before your visit"),
  make("p", { className: "hint", text: "Questions marked (required) need an answer. "
    + "Leave out anything you would rather not say." }));

  const summaryTitleId = `${idPrefix}-error-summary-title`;
  const summaryList = make("ul");
  const summary = make("div", { className: "intake-error-summary",
    attrs: { tabindex: "-1", hidden: "", "aria-labelledby": summaryTitleId } },
  heading(headingLevel + 1, summaryTitleId, "There is a problem"), summaryList);
  form.append(summary);

  function build(items, parent, level) {
    for (const item of items || []) {
      if (item.type === "group") {
        const section = groupSection(item, `${idPrefix}-group-${safeId(item.linkId)}`, level);
        groups.set(item.linkId, { item, wrapper: section });
        parent.append(section);
        build(item.item, section, level + 1);
      } else if (item.type === "display") {
        const note = displayNote(item);
        groups.set(item.linkId, { item, wrapper: note });
        parent.append(note);
      } else {
        const question = questionField(item, `${idPrefix}-${safeId(item.linkId)}`);
        questions.set(item.linkId, question);
        parent.append(question.wrapper);
      }
    }
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
        summaryList.append(make("li", { text: message }));
        continue;
      }
      question.error.hidden = false;
      question.error.textContent = message;
      question.wrapper.classList.add("intake-question-invalid");
      for (const control of question.controls) control.setAttribute("aria-invalid", "true");
      describe(question);
      const link = make("a", { text: `${labelOf(question)}: ${message}`,
        attrs: { href: `#${question.focusTarget.id}` } });
      link.addEventListener("click", (event) => {
        event.preventDefault();
        question.focusTarget.focus();
      });
      summaryList.append(make("li", {}, link));
    }
    summary.hidden = false;
    summary.focus();
  }

  const status = make("p", { className: "intake-status", attrs: { role: "status" } });
  const submit = make("button", { text: submitLabel, attrs: { type: "submit" } });
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
  form.append(make("div", { className: "actions" }, submit), status);
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
