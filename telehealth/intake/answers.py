"""Values that flow between parsers, the dialogue and the FHIR response.

A parser returns `Parsed` (the FHIR answer values plus how to say them back) or
`NotUnderstood`; never a guess. The dialogue stores one `ItemAnswer` per linkId:
`Answered`, or `Absent` when the patient skipped the question or did not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# One entry of QuestionnaireResponse.item.answer, e.g. {"valueInteger": 7}; JSON-ready.
FhirValue = dict[str, Any]

NotUnderstoodReason = Literal[
    "empty",  # nothing (or only filler words) was said
    "no_value",  # no value of the expected kind was found
    "ambiguous",  # more than one value, a range, or a hedge ("a few", "six or seven")
    "out_of_range",  # a value was found but the question does not allow it
    "too_long",  # more text than an answer can hold
]


@dataclass(frozen=True, slots=True)
class Parsed:
    """A reply understood as FHIR answer values; `spoken` says them back in plain words."""

    values: tuple[FhirValue, ...]
    spoken: str


@dataclass(frozen=True, slots=True)
class NotUnderstood:
    """A reply that could not be read as an answer; `reason` lets the dialogue give a hint."""

    reason: NotUnderstoodReason


ParseResult = Parsed | NotUnderstood

AbsentReason = Literal["asked-unknown", "asked-declined"]


@dataclass(frozen=True, slots=True)
class Answered:
    """A confirmed answer. `source_text` is the reply it came from (kept in memory only)."""

    values: tuple[FhirValue, ...]
    spoken: str
    source_text: str


@dataclass(frozen=True, slots=True)
class Absent:
    """The question was asked but not answered: "I don't know" or "skip"."""

    reason: AbsentReason


ItemAnswer = Answered | Absent
