"""FHIR R4 enableWhen: which questions apply, given the answers so far.

Semantics follow the R4 specification: a condition on a question without an answer is
false (except `exists`), a repeating answer satisfies `=`/`!=` when any of its values does,
and an item is disabled when any ancestor group is. Answers of a disabled question count as
absent, so a chain of conditions switches off together. Quantities are compared after
converting UCUM time units to days (ages and durations are the only quantities we ask).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telehealth.intake.answers import Answered, FhirValue, ItemAnswer
from telehealth.intake.questionnaire import EnableCondition, IntakeItem, IntakeQuestionnaire

# Average lengths, good enough to compare an age given in weeks with one given in years.
DAYS_PER_UNIT: dict[str, float] = {
    "min": 1 / 1440,
    "h": 1 / 24,
    "d": 1.0,
    "wk": 7.0,
    "mo": 30.4375,
    "a": 365.25,
}


def quantity_in_days(quantity: Mapping[str, Any]) -> float | None:
    """A UCUM time quantity in days, or None when the unit is not a time unit."""
    factor = DAYS_PER_UNIT.get(str(quantity.get("code")))
    value = quantity.get("value")
    if factor is None or not isinstance(value, int | float):
        return None
    return float(value) * factor


def is_enabled(
    questionnaire: IntakeQuestionnaire, link_id: str, answers: Mapping[str, ItemAnswer]
) -> bool:
    """Whether the item is enabled (and so asked and reported) given `answers`."""
    return _enabled(questionnaire, questionnaire.item(link_id), answers, {})


def enabled_answers(
    questionnaire: IntakeQuestionnaire, answers: Mapping[str, ItemAnswer]
) -> dict[str, ItemAnswer]:
    """The answers of enabled questions only, in questionnaire order."""
    memo: dict[str, bool] = {}
    return {
        item.link_id: answers[item.link_id]
        for item in questionnaire.questions()
        if item.link_id in answers and _enabled(questionnaire, item, answers, memo)
    }


def _enabled(
    questionnaire: IntakeQuestionnaire,
    item: IntakeItem,
    answers: Mapping[str, ItemAnswer],
    memo: dict[str, bool],
) -> bool:
    if item.link_id in memo:
        return memo[item.link_id]
    result = all(
        _enabled(questionnaire, questionnaire.item(a), answers, memo) for a in item.ancestors
    ) and _own_conditions_hold(questionnaire, item, answers, memo)
    memo[item.link_id] = result
    return result


def _own_conditions_hold(
    questionnaire: IntakeQuestionnaire,
    item: IntakeItem,
    answers: Mapping[str, ItemAnswer],
    memo: dict[str, bool],
) -> bool:
    if not item.enable_when:
        return True
    results = []
    for condition in item.enable_when:
        # The questionnaire loader guarantees the question comes earlier, so no cycles.
        question = questionnaire.item(condition.question)
        answer = answers.get(condition.question)
        values: tuple[FhirValue, ...] = ()
        if isinstance(answer, Answered) and _enabled(questionnaire, question, answers, memo):
            values = answer.values
        results.append(condition_holds(condition, values))
    return all(results) if item.enable_behavior == "all" else any(results)


def condition_holds(condition: EnableCondition, values: tuple[FhirValue, ...]) -> bool:
    """Whether answer `values` of the condition's question satisfy it (no values: no answer)."""
    if condition.operator == "exists":
        return bool(values) == bool(condition.answer)
    return any(_compare(condition, value) for value in values)


def _compare(condition: EnableCondition, value: FhirValue) -> bool:
    actual, expected = _comparable(next(iter(value.values()))), _comparable(condition.answer)
    if actual is None or expected is None or type(actual) is not type(expected):
        return False
    op = condition.operator
    if op == "=":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    if isinstance(actual, tuple):  # codings have no order
        return False
    comparisons = {
        ">": actual > expected,
        "<": actual < expected,
        ">=": actual >= expected,
        "<=": actual <= expected,
    }
    return bool(comparisons[op])


def _comparable(value: Any) -> Any:
    """A value reduced to something `==` and `<` work on; None when it cannot be compared."""
    if isinstance(value, dict):
        if "code" in value and "value" not in value:  # a Coding: system and code identify it
            return (value.get("system"), value["code"])
        return quantity_in_days(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    return value  # strings, and ISO dates which compare correctly as text
