"""Turning a reply into lower-case tokens, and finding number words among them.

Replies come from a speech recognizer (lower case, no punctuation, "dont") or a keyboard
(any case, punctuation, "don't"), so both are reduced to the same tokens first. Clause
punctuation survives as its own token because it ends the reach of a negation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CLAUSE_BREAKS = frozenset({",", ";", ".", "!", "?"})

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+(?:'[a-z]+)?|[,;.!?]")
# Recognizers drop apostrophes; put back the ones that matter for meaning.
_CONTRACTIONS = {
    "dont": "don't",
    "doesnt": "doesn't",
    "didnt": "didn't",
    "cant": "can't",
    "couldnt": "couldn't",
    "isnt": "isn't",
    "wasnt": "wasn't",
    "arent": "aren't",
    "havent": "haven't",
    "hasnt": "hasn't",
    "im": "i'm",
    "ive": "i've",
    "its": "it's",
    "thats": "that's",
    "wont": "won't",
    "id": "i'd",
}

UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
NUMBER_WORDS = frozenset({*UNITS, *TEENS, *TENS, "hundred"})


def tokens(text: str) -> list[str]:
    """Lower-case word, number and clause-punctuation tokens of `text`."""
    text = text.translate(_APOSTROPHES).lower()
    # "6-7" and "6/10" carry meaning; other hyphens just join words ("twenty-one").
    text = re.sub(r"(\d)\s*-\s*(\d)", r"\1 to \2", text)
    text = re.sub(r"(\d)\s*/\s*(\d)", r"\1 out of \2", text)
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)
    # Ordinals: "3rd" -> "3" "rd" would lose the number; keep the digits only.
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", r"\1", text)
    return [_CONTRACTIONS.get(tok, tok) for tok in _TOKEN.findall(text)]


def normalize(text: str) -> str:
    """`text` as space-joined tokens without punctuation, for phrase comparison."""
    return " ".join(tok for tok in tokens(text) if tok not in CLAUSE_BREAKS)


@dataclass(frozen=True, slots=True)
class NumberSpan:
    """A run of tokens `[start, end)` that reads as one number."""

    start: int
    end: int
    value: float


def number_spans(toks: list[str]) -> list[NumberSpan]:
    """Every number in `toks`: digits ("42", "7.5") or words ("forty two", "a hundred and one").

    Two unit words in a row ("six seven") are two numbers, never 67, so a hesitation or a
    correction is seen as two values rather than read as a different one.
    """
    spans: list[NumberSpan] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        if re.fullmatch(r"\d+(?:\.\d+)?", tok):
            spans.append(NumberSpan(i, i + 1, float(tok)))
            i += 1
            continue
        parsed = _number_words(toks, i)
        if parsed is None:
            i += 1
            continue
        end, value = parsed
        spans.append(NumberSpan(i, end, float(value)))
        i = end
    return spans


def _number_words(toks: list[str], i: int) -> tuple[int, int] | None:
    """Parse number words starting at `toks[i]`: returns (end index, value) or None."""
    value, j = 0, i
    if toks[j] in ("a", "one") and j + 1 < len(toks) and toks[j + 1] == "hundred":
        value, j = 100, j + 2
    elif toks[j] in UNITS and j + 1 < len(toks) and toks[j + 1] == "hundred":
        value, j = UNITS[toks[j]] * 100, j + 2
    if value:
        if j + 1 < len(toks) and toks[j] == "and" and _below_hundred(toks, j + 1):
            j += 1
        rest = _below_hundred(toks, j)
        if rest is not None:
            end, small = rest
            return end, value + small
        return j, value
    return _below_hundred(toks, i)


def _below_hundred(toks: list[str], i: int) -> tuple[int, int] | None:
    if i >= len(toks):
        return None
    tok = toks[i]
    if tok in TEENS:
        return i + 1, TEENS[tok]
    if tok in UNITS:
        return i + 1, UNITS[tok]
    if tok in TENS:
        if i + 1 < len(toks) and toks[i + 1] in UNITS and toks[i + 1] != "zero":
            return i + 2, TENS[tok] + UNITS[toks[i + 1]]
        return i + 1, TENS[tok]
    return None
