"""The keyboard path: answers from a submitted form, read by the same parsers as speech.

Field names are linkIds; values are the text typed (or a list, for choices ticked and
list entries). Fields of questions that are not enabled by the other answers are
ignored, as the form hides them. A value such as "I don't know" or "skip" is read as the
dialogue reads it, so a form and a conversation with the same answers give the same
QuestionnaireResponse.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from telehealth.intake.answers import (
    Absent,
    Answered,
    FhirValue,
    ItemAnswer,
    NotUnderstood,
    Parsed,
)
from telehealth.intake.commands import command_in
from telehealth.intake.enable_when import is_enabled
from telehealth.intake.errors import InvalidFormAnswers
from telehealth.intake.parse_basic import LIST_NONE, join_words
from telehealth.intake.parsers import ParseResult, parse_answer, parse_choice_values
from telehealth.intake.questionnaire import IntakeItem, IntakeQuestionnaire

FORM_MESSAGES = {
    "required": "Please answer this question.",
    "empty": "Please answer this question.",
    "no_value": "Sorry, this answer was not understood. Please check it.",
    "ambiguous": "Please give one clear answer.",
    "out_of_range": "This value is outside the allowed range.",
    "too_long": "This answer is too long.",
    "unknown": "This field is not part of the questionnaire.",
}


def answers_from_form(
    questionnaire: IntakeQuestionnaire,
    form_fields: Mapping[str, str | list[str]],
    *,
    now: datetime,
) -> dict[str, ItemAnswer]:
    """Parse every field; raise `InvalidFormAnswers` naming each field not understood."""
    questions = {item.link_id: item for item in questionnaire.questions()}
    errors = {name: FORM_MESSAGES["unknown"] for name in form_fields if name not in questions}
    answers: dict[str, ItemAnswer] = {}
    for link_id, item in questions.items():
        if not is_enabled(questionnaire, link_id, answers):
            continue
        raw = form_fields.get(link_id)
        values = [raw] if isinstance(raw, str) else list(raw or [])
        values = [v for v in values if v.strip()]
        if not values:
            if item.required:
                errors[link_id] = FORM_MESSAGES["required"]
            continue
        if len(values) == 1 and (command := command_in(values[0])) in ("skip", "dont_know"):
            if item.required:
                errors[link_id] = FORM_MESSAGES["required"]
            else:
                answers[link_id] = Absent(
                    "asked-unknown" if command == "dont_know" else "asked-declined"
                )
            continue
        result = _parse_field(item, values, now)
        if isinstance(result, NotUnderstood):
            errors[link_id] = FORM_MESSAGES[result.reason]
            continue
        answers[link_id] = Answered(result.values, result.spoken, "\n".join(values))
    if errors:
        raise InvalidFormAnswers(errors)
    return answers


def _parse_field(item: IntakeItem, values: list[str], now: datetime) -> ParseResult:
    if item.parser == "choice" and len(values) > 1:
        return parse_choice_values(values, item.options, item.repeats)
    if item.parser == "list" and len(values) > 1:
        # Each entry box is one entry, but "none" next to names contradicts itself.
        parsed = [parse_answer(item, value, now) for value in values]
        if any(isinstance(p, NotUnderstood) for p in parsed):
            return next(p for p in parsed if isinstance(p, NotUnderstood))
        entries: list[FhirValue] = []
        for value in (v for p in parsed if isinstance(p, Parsed) for v in p.values):
            if value["valueString"].lower() not in (e["valueString"].lower() for e in entries):
                entries.append(value)
        if {"valueString": LIST_NONE} in entries and len(entries) > 1:
            return NotUnderstood("ambiguous")
        return Parsed(tuple(entries), join_words([e["valueString"] for e in entries]))
    if len(values) > 1:
        return NotUnderstood("ambiguous")
    return parse_answer(item, values[0], now)
