"""Table tests: durations, onset dates and ages, against a fixed `now` (a Wednesday)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from telehealth.intake.answers import NotUnderstood, Parsed
from telehealth.intake.parse_time import parse_age, parse_duration, parse_onset_date

from .conftest import NOW

UCUM = "http://unitsofmeasure.org"


def q(value: float, code: str, unit: str, comparator: str | None = None) -> dict[str, object]:
    quantity: dict[str, object] = {"value": value}
    if comparator:
        quantity["comparator"] = comparator
    return {"valueQuantity": quantity | {"unit": unit, "system": UCUM, "code": code}}


@pytest.mark.parametrize(
    ("text", "expected", "spoken"),
    [
        ("three days", q(3, "d", "days"), "3 days"),
        ("3 days", q(3, "d", "days"), "3 days"),
        ("for about three days", q(3, "d", "days"), "3 days"),
        ("three days ago", q(3, "d", "days"), "3 days"),
        ("3 days or so", q(3, "d", "days"), "3 days"),
        ("I've had a headache for three days", q(3, "d", "days"), "3 days"),
        ("two weeks ago", q(2, "wk", "weeks"), "2 weeks"),
        ("for the last two weeks", q(2, "wk", "weeks"), "2 weeks"),
        ("a couple of hours", q(2, "h", "hours"), "2 hours"),
        ("couple of days", q(2, "d", "days"), "2 days"),
        ("an hour", q(1, "h", "hour"), "1 hour"),
        ("a week", q(1, "wk", "week"), "1 week"),
        ("half an hour", q(30, "min", "minutes"), "30 minutes"),
        ("an hour and a half", q(1.5, "h", "hours"), "1.5 hours"),
        ("two and a half days", q(2.5, "d", "days"), "2.5 days"),
        ("48 hours", q(48, "h", "hours"), "48 hours"),
        ("ten minutes", q(10, "min", "minutes"), "10 minutes"),
        ("six months", q(6, "mo", "months"), "6 months"),
        ("a year", q(1, "a", "year"), "1 year"),
        ("two years", q(2, "a", "years"), "2 years"),
        ("a fortnight", q(2, "wk", "weeks"), "2 weeks"),
        ("more than a week", q(1, "wk", "week", ">"), "more than 1 week"),
        ("over a month", q(1, "mo", "month", ">"), "more than 1 month"),
        ("at least two days", q(2, "d", "days", ">="), "at least 2 days"),
        ("less than an hour", q(1, "h", "hour", "<"), "less than 1 hour"),
        ("almost a month", q(1, "mo", "month", "<"), "less than 1 month"),
        ("not quite two weeks", q(2, "wk", "weeks", "<"), "less than 2 weeks"),
        ("since yesterday", q(1, "d", "day"), "since yesterday, 1 day"),
        ("yesterday morning", q(1, "d", "day"), "since yesterday, 1 day"),
        ("since last night", q(1, "d", "day"), "since last night, 1 day"),
        (
            "since the day before yesterday",
            q(2, "d", "days"),
            "since the day before yesterday, 2 days",
        ),
        ("since Monday", q(2, "d", "days"), "since Monday 3 March, 2 days"),
        ("on Monday", q(2, "d", "days"), "since Monday 3 March, 2 days"),
        ("since last Thursday", q(6, "d", "days"), "since Thursday 27 February, 6 days"),
        ("since Wednesday", q(7, "d", "days"), "since Wednesday 26 February, 7 days"),
        ("this morning", q(1, "d", "day", "<"), "since today, less than a day"),
        ("since March 3rd", q(2, "d", "days"), "since Monday 3 March, 2 days"),
        ("the third of March", q(2, "d", "days"), "since Monday 3 March, 2 days"),
        ("since Dec 25th", q(70, "d", "days"), "since Wednesday 25 December 2024, 70 days"),
        ("2025-02-01", q(32, "d", "days"), "since Saturday 1 February, 32 days"),
    ],
)
def test_duration_understood(text: str, expected: dict[str, object], spoken: str) -> None:
    assert parse_duration(text, NOW) == Parsed((expected,), spoken)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a few days", "ambiguous"),
        ("several weeks", "ambiguous"),
        ("two or three days", "ambiguous"),
        ("between 2 and 3 days", "ambiguous"),
        ("2-3 days", "ambiguous"),
        ("since last week", "ambiguous"),
        ("last month", "ambiguous"),
        ("ages", "ambiguous"),
        ("a long time", "ambiguous"),
        ("forever", "ambiguous"),
        ("3", "ambiguous"),
        ("since 2019", "ambiguous"),
        ("three days after my surgery", "ambiguous"),
        ("three days, on Monday", "ambiguous"),
        ("twice a day for a week", "ambiguous"),
        ("I don't remember", "ambiguous"),
        ("since Christmas", "no_value"),
        ("tomorrow", "no_value"),
        ("a while", "ambiguous"),
        ("", "empty"),
        ("0 days", "out_of_range"),
        ("since March 40th", "ambiguous"),
        ("2025-02-30", "no_value"),
        ("200 years", "out_of_range"),
    ],
)
def test_duration_not_understood(text: str, reason: str) -> None:
    result = parse_duration(text, NOW)
    assert isinstance(result, NotUnderstood)
    assert result.reason == reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("since yesterday", "2025-03-04"),
        ("since Monday", "2025-03-03"),
        ("three days ago", "2025-03-02"),
        ("two weeks ago", "2025-02-19"),
        ("a month ago", "2025-02-05"),
        ("a year ago", "2024-03-05"),
        ("this morning", "2025-03-05"),
        ("a couple of hours ago", "2025-03-05"),
        ("since the 3rd of March", "2025-03-03"),
    ],
)
def test_onset_date_understood(text: str, expected: str) -> None:
    result = parse_onset_date(text, NOW)
    assert isinstance(result, Parsed)
    assert result.values == ({"valueDate": expected},)


def test_onset_crossing_midnight_uses_the_given_clock() -> None:
    just_after_midnight = datetime(2025, 3, 5, 0, 30, tzinfo=UTC)
    result = parse_onset_date("two hours ago", just_after_midnight)
    assert isinstance(result, Parsed)
    assert result.values == ({"valueDate": "2025-03-04"},)


@pytest.mark.parametrize("text", ["more than a week ago", "a few days ago", "next week"])
def test_onset_date_not_understood(text: str) -> None:
    assert isinstance(parse_onset_date(text, NOW), NotUnderstood)


@pytest.mark.parametrize(
    ("text", "expected", "spoken"),
    [
        ("42", q(42, "a", "years"), "42 years old"),
        ("forty two", q(42, "a", "years"), "42 years old"),
        ("I'm 42 years old", q(42, "a", "years"), "42 years old"),
        ("about 40", q(40, "a", "years"), "40 years old"),
        ("six weeks old", q(6, "wk", "weeks"), "6 weeks old"),
        ("2 months", q(2, "mo", "months"), "2 months old"),
        ("she is three months old", q(3, "mo", "months"), "3 months old"),
        ("18 months", q(18, "mo", "months"), "18 months old"),
        ("ten days old", q(10, "d", "days"), "10 days old"),
        ("a year and a half", q(1.5, "a", "years"), "1.5 years old"),
        ("one hundred and one", q(101, "a", "years"), "101 years old"),
    ],
)
def test_age_understood(text: str, expected: dict[str, object], spoken: str) -> None:
    assert parse_age(text) == Parsed((expected,), spoken)


@pytest.mark.parametrize(
    "text",
    [
        "newborn",
        "0",
        "150",
        "in my forties",
        "forty something",
        "I'm 42 and she is 6",
        "since yesterday",
        "over 60",
        "thirty or forty",
        "",
    ],
)
def test_age_not_understood(text: str) -> None:
    assert isinstance(parse_age(text), NotUnderstood)
