"""What the dialogue hands back after each reply: the prompt and how to listen for the next.

`expects` tells the voice side what kind of reply comes next; for closed questions
(`yes_no`, `choice`, small-range `integer`, `item_name`) `phrases` lists what a patient
may say, including the commands, so a recognizer can be given a phrase list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from telehealth.intake.commands import command_phrases
from telehealth.intake.parse_choice import option_phrases
from telehealth.intake.questionnaire import IntakeItem
from telehealth.intake.red_flags import RedFlag
from telehealth.intake.words import TEENS, UNITS, normalize

Expectation = Literal[
    "free_text",
    "list",
    "yes_no",
    "choice",
    "integer",
    "duration",
    "date",
    "age",
    "item_name",
    "nothing",
]
Stage = Literal["question", "confirm", "summary", "correction", "done"]

_EXPECTATION_FOR_PARSER: dict[str, Expectation] = {
    "text": "free_text",
    "list": "list",
    "boolean": "yes_no",
    "choice": "choice",
    "integer": "integer",
    "duration": "duration",
    "date": "date",
    "age": "age",
}
YES_NO_PHRASES = (
    "yes",
    "no",
    "yeah",
    "yep",
    "nope",
    "correct",
    "that's right",
    "that's wrong",
    "not really",
    "i think so",
)
_NUMBER_WORDS = [*UNITS, *TEENS, "twenty"]  # "zero" .. "twenty", in order
_MAX_LISTED_NUMBERS = 21


@dataclass(frozen=True, slots=True)
class Turn:
    """One step of the intake: say `prompt`, then listen for `expects`."""

    prompt: str
    stage: Stage
    link_id: str | None
    expects: Expectation
    phrases: tuple[str, ...]
    new_flags: tuple[RedFlag, ...]
    flags: tuple[RedFlag, ...]
    offer_keyboard: bool
    done: bool

    @property
    def urgent(self) -> bool:
        return bool(self.flags)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for a websocket message."""
        return {
            "prompt": self.prompt,
            "stage": self.stage,
            "linkId": self.link_id,
            "expects": self.expects,
            "phrases": list(self.phrases),
            "newFlags": [flag.id for flag in self.new_flags],
            "flags": [flag.id for flag in self.flags],
            "urgent": self.urgent,
            "offerKeyboard": self.offer_keyboard,
            "done": self.done,
        }


def expectation_for(item: IntakeItem) -> Expectation:
    return _EXPECTATION_FOR_PARSER[item.parser or "text"]


def phrases_for_item(item: IntakeItem) -> tuple[str, ...]:
    """The phrase list for a closed question, or () when any words may come."""
    if item.parser == "boolean":
        return yes_no_phrases()
    if item.parser == "choice":
        said = {normalize(p) for option in item.options for p in option_phrases(option)}
        return _with_commands(said)
    if (
        item.parser == "integer"
        and item.min_value is not None
        and item.max_value is not None
        and item.min_value >= 0
        and item.max_value < _MAX_LISTED_NUMBERS
    ):
        numbers = set(_NUMBER_WORDS[item.min_value : item.max_value + 1])
        if item.min_value == 0 and item.max_value == 10:
            numbers |= {f"{n} out of ten" for n in _NUMBER_WORDS[:11]}
        return _with_commands(numbers)
    return ()


def yes_no_phrases() -> tuple[str, ...]:
    return _with_commands(set(YES_NO_PHRASES))


def item_name_phrases(items: list[IntakeItem]) -> tuple[str, ...]:
    names = {normalize(name) for item in items for name in (item.label, *item.aliases)}
    return _with_commands(names)


def _with_commands(phrases: set[str]) -> tuple[str, ...]:
    return tuple(sorted(phrases | set(command_phrases())))
