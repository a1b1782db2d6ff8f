"""Parsers for how long something has lasted, when it started, and how old someone is.

"three days", "a couple of hours", "two weeks ago", "since yesterday", "since Monday" and
"since March 3rd" are all read; the result is a FHIR Quantity in UCUM time units
(min, h, d, wk, mo, a) or a date, whichever the question wants. The caller passes the
current time: these functions never read the clock. Hedged or open-ended replies ("a few
days", "two or three weeks", "since last week", "ages") are NotUnderstood so the dialogue
asks for a number instead of storing a guess.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from telehealth.intake.answers import FhirValue, NotUnderstood, Parsed, ParseResult
from telehealth.intake.words import NumberSpan, number_spans, tokens

UCUM = "http://unitsofmeasure.org"
UNIT_NAMES = {
    "min": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "d": ("day", "days"),
    "wk": ("week", "weeks"),
    "mo": ("month", "months"),
    "a": ("year", "years"),
}
_UNIT_WORDS = {
    **dict.fromkeys(("minute", "minutes", "min", "mins"), "min"),
    **dict.fromkeys(("hour", "hours", "hr", "hrs"), "h"),
    **dict.fromkeys(("day", "days"), "d"),
    **dict.fromkeys(("week", "weeks", "wk", "wks"), "wk"),
    **dict.fromkeys(("month", "months"), "mo"),
    **dict.fromkeys(("year", "years", "yr", "yrs"), "a"),
}
# "half a day" is said as twelve hours, "half a year" as six months.
_HALF_OF = {"min": (0.5, "min"), "h": (30, "min"), "d": (12, "h"), "wk": (0.5, "wk")}
_HALF_OF |= {"mo": (2, "wk"), "a": (6, "mo")}
_DAYS_PER_UNIT = {"min": 1 / 1440, "h": 1 / 24, "d": 1, "wk": 7, "mo": 30.4375, "a": 365.25}
_MAX_DAYS = 125 * 365.25

_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {"sept": 9, "jan": 1, "feb": 2, "aug": 8, "oct": 10, "nov": 11, "dec": 12}
_ORDINAL_WORDS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
)
_ORDINALS = {word: i + 1 for i, word in enumerate(_ORDINAL_WORDS.split(" "))}
_ORDINALS |= {"thirtieth": 30}

_COMPARATORS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("more", "than"), ">"),
    (("longer", "than"), ">"),
    (("just", "over"), ">"),
    (("over",), ">"),
    (("at", "least"), ">="),
    (("less", "than"), "<"),
    (("just", "under"), "<"),
    (("under",), "<"),
    (("almost",), "<"),
    (("nearly",), "<"),
    (("not", "quite"), "<"),
    (("up", "to"), "<="),
)
_COMPARATOR_WORDS = {">": "more than", ">=": "at least", "<": "less than", "<=": "up to"}
# Words that turn a reply into a range, a hedge or something other than one point in time.
_SPOILERS = frozenset(
    {
        "or",
        "between",
        "few",
        "several",
        "some",
        "couple",
        "until",
        "till",
        "after",
        "before",
        "not",
        "no",
        "never",
        "every",
        "each",
        "per",
        "times",
        "twice",
        "once",
        "something",
        "plus",
        "while",
        "ages",
        "long",
        "forever",
        "remember",
        "sure",
        "know",
        "half",
        "week",
        "month",
        "year",
        "weeks",
        "months",
        "years",
    }
)
# "over 60" is not an age; "about 60" is (people round their age rarely by much).
_AGE_HEDGES = frozenset({"over", "under", "than", "almost", "nearly", "least", "past"})


@dataclass(frozen=True, slots=True)
class _Amount:
    value: float
    unit: str
    comparator: str | None = None


@dataclass(frozen=True, slots=True)
class _Anchor:
    start: date
    words: str


@dataclass(frozen=True, slots=True)
class _Found:
    start: int
    end: int
    what: _Amount | _Anchor


Mode = Literal["duration", "date", "age"]


def parse_duration(text: str, now: datetime) -> ParseResult:
    """How long: a FHIR Quantity, e.g. {"value": 3, "unit": "days", "code": "d", ...}."""
    return _parse(text, now, "duration")


def parse_onset_date(text: str, now: datetime) -> ParseResult:
    """When it started: a FHIR date, e.g. {"valueDate": "2025-03-03"}."""
    return _parse(text, now, "date")


def parse_age(text: str) -> ParseResult:
    """An age: "42", "forty two years old", "six weeks old" -> Quantity in a, mo, wk or d."""
    # Ages never refer to a calendar day, so any date serves for the shared scanner.
    return _parse(text, datetime(2000, 1, 1), "age")


def quantity(value: float, unit: str, comparator: str | None = None) -> FhirValue:
    """A FHIR Quantity answer in UCUM time units."""
    number: float | int = int(value) if value == int(value) else value
    q: dict[str, object] = {"value": number}
    if comparator:
        q["comparator"] = comparator
    q |= {"unit": UNIT_NAMES[unit][0 if number == 1 else 1], "system": UCUM, "code": unit}
    return {"valueQuantity": q}


def _parse(text: str, now: datetime, mode: Mode) -> ParseResult:
    today = now.date()
    iso = re.fullmatch(r"\s*(?:since\s+)?(\d{4})-(\d{2})-(\d{2})\s*", text.lower())
    if iso and mode != "age":
        try:
            start = date(int(iso[1]), int(iso[2]), int(iso[3]))
        except ValueError:
            return NotUnderstood("no_value")
        return _answer(_Anchor(start, f"since {_say_date(start, today)}"), now, mode)
    toks = _without_or_so(tokens(text))
    if not toks:
        return NotUnderstood("empty")
    numbers = {span.start: span for span in number_spans(toks)}
    found: list[_Found] = []
    i = 0
    while i < len(toks):
        hit = _anchor_at(toks, i, today, numbers) or _amount_at(toks, i, numbers)
        if hit is None:
            i += 1
            continue
        found.append(_with_comparator(toks, hit))
        i = hit.end
    used = {j for hit in found for j in range(hit.start, hit.end)}
    leftover = [(j, tok) for j, tok in enumerate(toks) if j not in used]
    if any(tok in _SPOILERS for _, tok in leftover):
        return NotUnderstood("ambiguous")
    loose_numbers = [span for span in numbers.values() if span.start not in used]
    if mode == "age" and any(tok in _AGE_HEDGES for _, tok in leftover):
        return NotUnderstood("ambiguous")
    if mode == "age" and not found and len(loose_numbers) == 1:
        span = loose_numbers[0]
        found = [_Found(span.start, span.end, _Amount(span.value, "a"))]
        loose_numbers = []
    if loose_numbers or len(found) > 1:
        return NotUnderstood("ambiguous")
    if not found:
        return NotUnderstood("no_value")
    return _answer(found[0].what, now, mode)


def _without_or_so(toks: list[str]) -> list[str]:
    """Drop "or so" ("three days or so" is about three days); any other "or" is a range."""
    kept: list[str] = []
    for j, tok in enumerate(toks):
        if (tok == "or" and toks[j + 1 : j + 2] == ["so"]) or (tok == "so" and kept[-1:] == ["or"]):
            continue
        kept.append(tok)
    return kept


def _with_comparator(toks: list[str], hit: _Found) -> _Found:
    if not isinstance(hit.what, _Amount):
        return hit
    for words, symbol in _COMPARATORS:
        start = hit.start - len(words)
        if start >= 0 and tuple(toks[start : hit.start]) == words:
            amount = _Amount(hit.what.value, hit.what.unit, symbol)
            return _Found(start, hit.end, amount)
    return hit


def _amount_at(toks: list[str], i: int, numbers: dict[int, NumberSpan]) -> _Found | None:
    tok = toks[i]
    nxt = toks[i + 1] if i + 1 < len(toks) else ""
    if tok == "half" and nxt in ("a", "an") and _unit(toks, i + 2):
        value, unit = _HALF_OF[_unit(toks, i + 2)]
        return _Found(i, i + 3, _Amount(value, unit))
    if tok in ("a", "an") and nxt == "couple":
        return _couple(toks, i + 1, i)
    if tok == "couple":
        return _couple(toks, i, i)
    if tok in ("a", "an") and nxt in ("fortnight", "fortnights"):
        return _Found(i, i + 2, _Amount(2, "wk"))
    if tok in ("a", "an") and _unit(toks, i + 1):
        return _half_suffix(toks, i, i + 2, 1.0, _unit(toks, i + 1))
    span = numbers.get(i)
    if span is None:
        return None
    j, value = span.end, span.value
    if toks[j : j + 3] == ["and", "a", "half"]:
        j, value = j + 3, value + 0.5
    if j < len(toks) and toks[j] in ("fortnight", "fortnights"):
        return _Found(i, j + 1, _Amount(value * 2, "wk"))
    unit = _unit(toks, j)
    if not unit:
        return None
    if value != span.value:  # "two and a half days"
        return _Found(i, j + 1, _Amount(value, unit))
    return _half_suffix(toks, i, j + 1, value, unit)


def _half_suffix(toks: list[str], start: int, end: int, value: float, unit: str) -> _Found:
    """ "an hour and a half" -> 1.5 hours."""
    if toks[end : end + 3] == ["and", "a", "half"]:
        return _Found(start, end + 3, _Amount(value + 0.5, unit))
    return _Found(start, end, _Amount(value, unit))


def _couple(toks: list[str], at: int, start: int) -> _Found | None:
    j = at + 1 + (at + 1 < len(toks) and toks[at + 1] == "of")
    unit = _unit(toks, j)
    return _Found(start, j + 1, _Amount(2, unit)) if unit else None


def _unit(toks: list[str], j: int) -> str:
    return _UNIT_WORDS.get(toks[j], "") if j < len(toks) else ""


def _anchor_at(
    toks: list[str], i: int, today: date, numbers: dict[int, NumberSpan]
) -> _Found | None:
    tok = toks[i]
    two = toks[i : i + 2]
    if toks[i : i + 3] == ["day", "before", "yesterday"]:
        return _Found(
            i, i + 3, _Anchor(today - timedelta(days=2), "since the day before yesterday")
        )
    if tok == "yesterday":
        end = i + 2 if toks[i + 1 : i + 2] in (["morning"], ["afternoon"], ["evening"]) else i + 1
        return _Found(i, end, _Anchor(today - timedelta(days=1), "since yesterday"))
    if two == ["last", "night"]:
        return _Found(i, i + 2, _Anchor(today - timedelta(days=1), "since last night"))
    if tok in ("today", "tonight") or two in (
        ["this", "morning"],
        ["this", "afternoon"],
        ["this", "evening"],
    ):
        return _Found(
            i, i + (1 if tok in ("today", "tonight") else 2), _Anchor(today, "since today")
        )
    if tok in _WEEKDAYS or (tok == "last" and toks[i + 1 : i + 2] and toks[i + 1] in _WEEKDAYS):
        day_at = i + (tok == "last")
        # The most recent such day before today; on a Monday, "since Monday" is a week ago.
        back = (today.weekday() - _WEEKDAYS[toks[day_at]] - 1) % 7 + 1
        start = today - timedelta(days=back)
        return _Found(i, day_at + 1, _Anchor(start, f"since {_say_date(start, today)}"))
    return _calendar_date_at(toks, i, today, numbers)


def _calendar_date_at(
    toks: list[str], i: int, today: date, numbers: dict[int, NumberSpan]
) -> _Found | None:
    """ "march 3", "march the third", "the 3rd of march", "3 march"."""

    def day_at(j: int) -> tuple[int, int] | None:
        if j < len(toks) and toks[j] == "the":
            j += 1
        if j >= len(toks):
            return None
        if toks[j] in _ORDINALS:
            return _ORDINALS[toks[j]], j + 1
        if toks[j] in ("twenty", "thirty") and j + 1 < len(toks) and toks[j + 1] in _ORDINALS:
            return (20 if toks[j] == "twenty" else 30) + _ORDINALS[toks[j + 1]], j + 2
        span = numbers.get(j)
        if span and span.value == int(span.value) and re.fullmatch(r"\d{1,2}", toks[j]):
            return int(span.value), span.end
        return None

    if toks[i] in _MONTHS:
        day = day_at(i + 1)
        if day:
            return _dated(i, day[1], _MONTHS[toks[i]], day[0], today)
        return None
    day = day_at(i)
    if day is None:
        return None
    j = day[1] + (day[1] < len(toks) and toks[day[1]] == "of")
    if j < len(toks) and toks[j] in _MONTHS:
        return _dated(i, j + 1, _MONTHS[toks[j]], day[0], today)
    return None


def _dated(start: int, end: int, month: int, day: int, today: date) -> _Found | None:
    try:
        when = date(today.year, month, day)
        if when > today:  # a date in the future is last year's
            when = date(today.year - 1, month, day)
    except ValueError:
        return None
    return _Found(start, end, _Anchor(when, f"since {_say_date(when, today)}"))


def _say_date(when: date, today: date) -> str:
    said = f"{calendar.day_name[when.weekday()]} {when.day} {calendar.month_name[when.month]}"
    return said if when.year == today.year else f"{said} {when.year}"


def _answer(what: _Amount | _Anchor, now: datetime, mode: Mode) -> ParseResult:
    today = now.date()
    if isinstance(what, _Anchor):
        if mode == "age":
            return NotUnderstood("no_value")
        if what.start > today or (today - what.start).days > _MAX_DAYS:
            return NotUnderstood("out_of_range")
        if mode == "date":
            return Parsed(({"valueDate": what.start.isoformat()},), what.words)
        elapsed = (today - what.start).days
        if elapsed == 0:
            return Parsed((quantity(1, "d", "<"),), f"{what.words}, less than a day")
        return Parsed((quantity(elapsed, "d"),), f"{what.words}, {_say_amount(elapsed, 'd')}")
    days = what.value * _DAYS_PER_UNIT[what.unit]
    if what.value <= 0 or days > _MAX_DAYS:
        return NotUnderstood("out_of_range")
    if mode == "age":
        if what.comparator:
            return NotUnderstood("ambiguous")
        return Parsed(
            (quantity(what.value, what.unit),), f"{_say_amount(what.value, what.unit)} old"
        )
    spoken = _say_amount(what.value, what.unit)
    if what.comparator:
        spoken = f"{_COMPARATOR_WORDS[what.comparator]} {spoken}"
    if mode == "duration":
        return Parsed((quantity(what.value, what.unit, what.comparator),), spoken)
    if what.comparator:  # a date cannot say "more than"
        return NotUnderstood("ambiguous")
    start = _subtract(now, what)
    return Parsed(
        ({"valueDate": start.isoformat()},), f"{spoken} ago, since {_say_date(start, today)}"
    )


def _subtract(now: datetime, amount: _Amount) -> date:
    if amount.unit in ("mo", "a") and amount.value == int(amount.value):
        months = int(amount.value) * (12 if amount.unit == "a" else 1)
        year, month = divmod(now.month - 1 - months, 12)
        year += now.year
        day = min(now.day, calendar.monthrange(year, month + 1)[1])
        return date(year, month + 1, day)
    return (now - timedelta(days=amount.value * _DAYS_PER_UNIT[amount.unit])).date()


def _say_amount(value: float, unit: str) -> str:
    number: float | int = int(value) if value == int(value) else value
    return f"{number} {UNIT_NAMES[unit][0 if number == 1 else 1]}"
