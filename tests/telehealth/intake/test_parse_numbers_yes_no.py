"""Table tests: integers and yes/no. A hedge or a range must never become a value."""

from __future__ import annotations

import pytest

from telehealth.intake.answers import NotUnderstood, NotUnderstoodReason, Parsed
from telehealth.intake.parse_basic import parse_boolean, parse_integer, split_yes_no


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seven", 7),
        ("7", 7),
        ("Seven.", 7),
        ("about a 7", 7),
        ("about a seven", 7),
        ("seven out of ten", 7),
        ("7 out of 10", 7),
        ("7/10", 7),
        ("seven of ten", 7),
        ("I'd say a seven", 7),
        ("it's a seven", 7),
        ("maybe 7", 7),
        ("um, seven", 7),
        ("zero", 0),
        ("0", 0),
        ("ten", 10),
        ("10 out of 10", 10),
        ("a ten", 10),
        ("nine out of ten", 9),
        ("ONE", 1),
        ("two", 2),
        ("I would say a 7, it really hurts", 7),
        ("eight", 8),
    ],
)
def test_integer_understood(text: str, expected: int) -> None:
    assert parse_integer(text, 0, 10) == Parsed(
        ({"valueInteger": expected},), f"{expected} out of 10"
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("between six and seven", "ambiguous"),
        ("six or seven", "ambiguous"),
        ("six to seven", "ambiguous"),
        ("6-7", "ambiguous"),
        ("six seven", "ambiguous"),
        ("7.5", "ambiguous"),
        ("seven and a half", "ambiguous"),
        ("seven point five", "ambiguous"),
        ("not seven", "ambiguous"),
        ("seven days", "ambiguous"),
        ("minus two", "ambiguous"),
        ("eleven", "out_of_range"),
        ("11", "out_of_range"),
        ("twenty", "out_of_range"),
        ("seven out of five", "ambiguous"),
        ("a lot", "no_value"),
        ("bad", "no_value"),
        ("none", "no_value"),
        ("", "empty"),
        ("um", "empty"),
        ("seventy", "out_of_range"),
        ("forty something", "ambiguous"),
    ],
)
def test_integer_not_understood(text: str, reason: NotUnderstoodReason) -> None:
    assert parse_integer(text, 0, 10) == NotUnderstood(reason)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("twenty one", 21), ("twenty-one", 21), ("a hundred and five", 105), ("42", 42)],
)
def test_integer_without_bounds_reads_larger_numbers(text: str, expected: int) -> None:
    result = parse_integer(text)
    assert isinstance(result, Parsed)
    assert result.values == ({"valueInteger": expected},)
    assert result.spoken == str(expected)


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "Yes.",
        "yeah",
        "yep",
        "yup",
        "sure",
        "of course",
        "correct",
        "that's right",
        "that is right",
        "right",
        "I think so",
        "I believe so",
        "definitely",
        "absolutely",
        "uh huh",
        "yes please",
        "yes it is",
        "I could be",
        "I am",
        "okay",
        "true",
    ],
)
def test_boolean_yes(text: str) -> None:
    assert parse_boolean(text) == Parsed(({"valueBoolean": True},), "yes")


@pytest.mark.parametrize(
    "text",
    [
        "no",
        "No.",
        "nope",
        "nah",
        "not really",
        "not at all",
        "no way",
        "I don't think so",
        "I dont think so",
        "definitely not",
        "that's not right",
        "that's wrong",
        "wrong",
        "I'm not",
        "I am not",
        "never",
        "not that I know of",
        "no thank you",
        "false",
    ],
)
def test_boolean_no(text: str) -> None:
    assert parse_boolean(text) == Parsed(({"valueBoolean": False},), "no")


@pytest.mark.parametrize(
    "text",
    [
        "maybe",
        "I'm not sure",
        "not sure",
        "I don't know",
        "possibly",
        "probably",
        "perhaps",
        "yes and no",
        "yes, no",
        "no, yes",
        "kind of",
        "purple",
        "",
        "it might be",
    ],
)
def test_boolean_not_understood(text: str) -> None:
    assert isinstance(parse_boolean(text), NotUnderstood)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no, eight", (False, "eight")),
        ("No, it's eight.", (False, "it's eight")),
        ("yes", (True, "")),
        ("nope, just salbutamol", (False, "just salbutamol")),
        ("maybe", (None, "")),
    ],
)
def test_split_yes_no_keeps_the_correction(text: str, expected: tuple[bool | None, str]) -> None:
    assert split_yes_no(text) == expected
