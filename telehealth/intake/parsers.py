"""One entry point for all answer parsers: parse a reply for a questionnaire item.

The parser for each item comes from the questionnaire (see `questionnaire.py`); the same
function serves the voice dialogue and the keyboard form, so both store identical answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from telehealth.intake.answers import NotUnderstood, Parsed, ParseResult
from telehealth.intake.parse_basic import (
    join_words,
    parse_boolean,
    parse_integer,
    parse_list,
    parse_text,
    split_yes_no,
)
from telehealth.intake.parse_choice import parse_choice, parse_choice_values
from telehealth.intake.parse_time import parse_age, parse_duration, parse_onset_date
from telehealth.intake.questionnaire import AnswerOption, IntakeItem, ParserKind

__all__ = [
    "NotUnderstood",
    "ParseResult",
    "Parsed",
    "join_words",
    "parse_age",
    "parse_answer",
    "parse_as",
    "parse_boolean",
    "parse_choice",
    "parse_choice_values",
    "parse_duration",
    "parse_integer",
    "parse_list",
    "parse_onset_date",
    "parse_text",
    "split_yes_no",
]


def parse_as(
    kind: ParserKind,
    text: str,
    now: datetime,
    *,
    options: Sequence[AnswerOption] = (),
    repeats: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
) -> ParseResult:
    """Parse `text` with the parser named `kind`; `now` anchors "since yesterday"."""
    if kind == "integer":
        return parse_integer(text, minimum, maximum)
    if kind == "boolean":
        return parse_boolean(text)
    if kind == "duration":
        return parse_duration(text, now)
    if kind == "date":
        return parse_onset_date(text, now)
    if kind == "age":
        return parse_age(text)
    if kind == "choice":
        return parse_choice(text, options, repeats)
    if kind == "list":
        return parse_list(text)
    return parse_text(text)


def parse_answer(item: IntakeItem, text: str, now: datetime) -> ParseResult:
    """Parse a reply to `item` with the parser its questionnaire entry names."""
    if item.parser is None:
        raise ValueError(f"item {item.link_id!r} is not a question")
    return parse_as(
        item.parser,
        text,
        now,
        options=item.options,
        repeats=item.repeats,
        minimum=item.min_value,
        maximum=item.max_value,
    )
