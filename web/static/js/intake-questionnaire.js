// Reading a FHIR Questionnaire for the intake form: extensions, which parser the server
// uses for an item, and enableWhen evaluated as the server evaluates it
// (telehealth/intake/enable_when.py). Pure functions, no DOM.

const EXT = "urn:telehealth-assistant:intake:";
export const EXT_LABEL = EXT + "label";
export const EXT_MIN = "http://hl7.org/fhir/StructureDefinition/minValue";
export const EXT_MAX = "http://hl7.org/fhir/StructureDefinition/maxValue";
export const EXT_EXCLUSIVE =
  "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive";
const EXT_PARSER = EXT + "parser";
// Average lengths, as the server uses, to compare an age in weeks with one in years.
const DAYS_PER_UNIT = { min: 1 / 1440, h: 1 / 24, d: 1, wk: 7, mo: 30.4375, a: 365.25 };

/** The value of an extension of `node` (e.g. key "valueString"), or undefined. */
export function extension(node, url, key) {
  const found = (node.extension || []).find((ext) => ext.url === url && key in ext);
  return found ? found[key] : undefined;
}

/** How the server reads an item (mirrors telehealth.intake.questionnaire). */
export function parserOf(item) {
  const named = extension(item, EXT_PARSER, "valueCode");
  if (named) return named;
  if (item.type === "quantity") return "duration";
  if ((item.type === "string" || item.type === "text") && item.repeats) return "list";
  return { integer: "integer", boolean: "boolean", date: "date", choice: "choice" }[item.type]
    || "text";
}

/** Every item depth first, with the linkIds of the groups around it. */
export function walk(items, ancestors = []) {
  return (items || []).flatMap((item) => [
    { item, ancestors },
    ...walk(item.item, [...ancestors, item.linkId]),
  ]);
}

function comparable(value) {
  if (value && typeof value === "object") {
    if ("code" in value && !("value" in value)) return `${value.system || ""}|${value.code}`;
    const factor = DAYS_PER_UNIT[value.code];
    return factor === undefined ? null : Number(value.value) * factor;
  }
  return value;
}

/**
 * Whether one enableWhen holds for `values`: the question's answers as FHIR-like values
 * (codings {system, code}, quantities {value, code}, numbers, booleans, strings); an
 * unanswered (or switched off) question has none, and then only `exists` can hold.
 */
export function conditionHolds(condition, values) {
  const key = Object.keys(condition).find((k) => k.startsWith("answer"));
  const expected = comparable(condition[key]);
  if (condition.operator === "exists") return (values.length > 0) === Boolean(expected);
  const ordered = key !== "answerCoding";
  return values.some((value) => {
    const actual = comparable(value);
    if (actual === null || expected === null || typeof actual !== typeof expected) return false;
    switch (condition.operator) {
      case "=": return actual === expected;
      case "!=": return actual !== expected;
      case ">": return ordered && actual > expected;
      case "<": return ordered && actual < expected;
      case ">=": return ordered && actual >= expected;
      case "<=": return ordered && actual <= expected;
      default: return false;
    }
  });
}

/**
 * Which items are enabled: `valuesOf(linkId)` gives a question's current values. An item
 * is off when a group around it is off; answers of a question that is off do not count.
 */
export function enabledItems(entries, valuesOf) {
  const enabled = new Map();
  for (const { item, ancestors } of entries) {
    let on = ancestors.every((a) => enabled.get(a));
    if (on && item.enableWhen && item.enableWhen.length) {
      const results = item.enableWhen.map((condition) =>
        conditionHolds(condition, enabled.get(condition.question) ? valuesOf(condition.question)
          : []));
      on = item.enableBehavior === "any" ? results.some(Boolean) : results.every(Boolean);
    }
    enabled.set(item.linkId, on);
  }
  return enabled;
}
