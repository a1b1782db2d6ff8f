"""`telehealth intake ...`: try the answer parsers and the dialogue from a terminal.

    telehealth intake parse --type integer "about a 7"      -> {"valueInteger": 7}
    telehealth intake parse --item symptoms "fever and a cough"
    telehealth intake simulate < replies.txt                 -> QuestionnaireResponse JSON

`parse` prints one JSON object: the answer value, or {"answer": [...]} when a reply gives
several (a list, or several options). `simulate` writes the prompts to stderr and the
response to stdout. Both exit 1 when the input was not understood or ended early.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from telehealth.intake.answers import NotUnderstood
from telehealth.intake.dialogue import IntakeDialogue
from telehealth.intake.errors import IntakeError
from telehealth.intake.parsers import parse_as
from telehealth.intake.questionnaire import (
    IntakeItem,
    IntakeQuestionnaire,
    ParserKind,
    load_questionnaire,
)

intake_app = typer.Typer(help="Symptom intake: parse answers, simulate a dialogue.")


class AnswerType(StrEnum):
    integer = "integer"
    boolean = "boolean"
    duration = "duration"
    date = "date"
    age = "age"
    choice = "choice"
    list = "list"
    text = "text"


QuestionnaireOption = Annotated[
    Path | None,
    typer.Option("--questionnaire", "-q", help="Questionnaire JSON (default: the built-in one)."),
]
NowOption = Annotated[
    str | None,
    typer.Option("--now", help="ISO date or date-time for 'since yesterday' (default: now)."),
]


@intake_app.command("parse")
def parse_command(
    text: Annotated[str, typer.Argument(help="The reply to parse.")],
    answer_type: Annotated[
        AnswerType | None, typer.Option("--type", "-t", help="Parser to use.")
    ] = None,
    item_link_id: Annotated[
        str | None, typer.Option("--item", help="linkId of the question (options, bounds).")
    ] = None,
    questionnaire_path: QuestionnaireOption = None,
    now: NowOption = None,
) -> None:
    """Parse one reply and print the FHIR answer as JSON."""
    if answer_type is None and item_link_id is None:
        _fail("give --type or --item", code=2)
    item = None
    if item_link_id is not None:
        item = _question(_load(questionnaire_path), item_link_id)
    # AnswerType values are exactly the ParserKind names.
    kind: ParserKind | None = answer_type.value if answer_type is not None else None
    if kind is None and item is not None:
        kind = item.parser
    if kind is None or (kind == "choice" and item is None):
        _fail("--type choice needs --item to know the options", code=2)
    result = parse_as(
        kind,
        text,
        _now(now),
        options=item.options if item else (),
        repeats=item.repeats if item else kind == "list",
        minimum=item.min_value if item else None,
        maximum=item.max_value if item else None,
    )
    if isinstance(result, NotUnderstood):
        _fail(f"not understood ({result.reason})", code=1)
    output = result.values[0] if len(result.values) == 1 else {"answer": list(result.values)}
    typer.echo(json.dumps(output, ensure_ascii=False))


@intake_app.command("simulate")
def simulate_command(
    questionnaire_path: QuestionnaireOption = None,
    now: NowOption = None,
    emergency_number: Annotated[
        str | None, typer.Option("--emergency-number", help="Number spoken in urgent advice.")
    ] = None,
) -> None:
    """Run the dialogue on replies read line by line from stdin."""
    dialogue = IntakeDialogue(
        _load(questionnaire_path), _now(now), emergency_number=emergency_number
    )
    turn = dialogue.start()
    typer.echo(turn.prompt, err=True)
    stdin = typer.get_text_stream("stdin")
    for line in stdin:
        if turn.done:
            break
        turn = dialogue.reply(line.rstrip("\r\n"))
        for flag in turn.new_flags:
            typer.echo(f"[urgent: {flag.title}]", err=True)
        typer.echo(turn.prompt, err=True)
    typer.echo(json.dumps(dialogue.questionnaire_response(), indent=2, ensure_ascii=False))
    if not turn.done:
        _fail("input ended before the intake was complete", code=1)


def _load(path: Path | None) -> IntakeQuestionnaire:
    try:
        return load_questionnaire(path)
    except IntakeError as exc:
        _fail(str(exc), code=2)


def _question(questionnaire: IntakeQuestionnaire, link_id: str) -> IntakeItem:
    try:
        item = questionnaire.item(link_id)
    except KeyError:
        item = None
    if item is None or not item.is_question:
        _fail(f"no question with linkId {link_id!r}", code=2)
    return item


def _now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)  # the command line is the one place that reads the clock
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"--now {value!r} is not an ISO date or date-time", code=2)
    if len(value) == 10:  # a date alone: midday, so "today" is unambiguous in any zone
        parsed = datetime.combine(date.fromisoformat(value), time(12))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _fail(message: str, *, code: int) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)
