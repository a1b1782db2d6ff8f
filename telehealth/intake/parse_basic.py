"""Parsers for integers, yes/no, lists of names and free text.

Each returns `Parsed` with FHIR answer values or `NotUnderstood`; when a reply could mean
two things ("six or seven", "yes and no") the answer is NotUnderstood, never a guess.
"""

from __future__ import annotations

import re

from telehealth.intake.answers import NotUnderstood, Parsed, ParseResult
from telehealth.intake.words import CLAUSE_BREAKS, normalize, number_spans, tokens

MAX_TEXT_CHARS = 2000
MAX_LIST_ENTRIES = 30
MAX_LIST_ENTRY_CHARS = 200
LIST_NONE = "none"

# Words that make an integer reply a range, a hedge, a fraction or a different kind of answer.
_INTEGER_SPOILERS = frozenset(
    {
        "between",
        "or",
        "to",
        "through",
        "half",
        "point",
        "minus",
        "negative",
        "not",
        "no",
        "never",
        "isn't",
        "percent",
        "degrees",
        "something",
        "ish",
        "plus",
        "minute",
        "minutes",
        "hour",
        "hours",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
    }
)
_FILLER = frozenset({"um", "uh", "er", "erm", "hmm", "mm", "ah", "oh", "well", "so", "like"})


def parse_integer(text: str, minimum: int | None = None, maximum: int | None = None) -> ParseResult:
    """One whole number said in words or digits: "seven", "about a 7", "7 out of 10"."""
    toks = tokens(text)
    if not [t for t in toks if t not in CLAUSE_BREAKS and t not in _FILLER]:
        return NotUnderstood("empty")
    spans = number_spans(toks)
    # "7 out of 10" / "seven of ten": the second number is the scale, not a second answer.
    if len(spans) == 2:
        first, scale = spans
        between = toks[first.end : scale.start]
        if between in (["out", "of"], ["of"], ["over"]) and scale.value == (maximum or 10):
            spans = [first]
            toks = toks[: first.end] + toks[scale.end :]
    if any(tok in _INTEGER_SPOILERS for tok in toks):
        return NotUnderstood("ambiguous")
    if not spans:
        return NotUnderstood("no_value")
    if len(spans) > 1:
        return NotUnderstood("ambiguous")
    value = spans[0].value
    if value != int(value):
        return NotUnderstood("ambiguous")
    number = int(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        return NotUnderstood("out_of_range")
    spoken = f"{number} out of {maximum}" if minimum == 0 and maximum == 10 else str(number)
    return Parsed(({"valueInteger": number},), spoken)


_YES_PHRASES = (
    "yes",
    "yeah",
    "yea",
    "yep",
    "yup",
    "ya",
    "yah",
    "aye",
    "sure",
    "of course",
    "correct",
    "right",
    "true",
    "that's right",
    "that is right",
    "that's correct",
    "affirmative",
    "definitely",
    "absolutely",
    "certainly",
    "i do",
    "i am",
    "i could be",
    "i might be",
    "uh huh",
    "mm hmm",
    "i think so",
    "i believe so",
    "ok",
    "okay",
    "yes please",
    "it is",
    "that's it",
)
_NO_PHRASES = (
    "no",
    "nope",
    "nah",
    "not really",
    "no way",
    "not at all",
    "negative",
    "false",
    "wrong",
    "incorrect",
    "that's wrong",
    "that's not right",
    "that is not right",
    "not right",
    "not correct",
    "i don't",
    "i do not",
    "it is not",
    "i'm not",
    "i am not",
    "it isn't",
    "it's not",
    "i don't think so",
    "i can't be",
    "i couldn't be",
    "definitely not",
    "absolutely not",
    "certainly not",
    "of course not",
    "not that i know of",
    "never",
    "no thanks",
    "no thank you",
)
# Hedges that contain yes/no words but are not an answer.
_UNSURE_PHRASES = (
    "not sure",
    "maybe",
    "perhaps",
    "possibly",
    "probably",
    "might be",
    "could be",
    "don't know",
    "i don't know",
    "i do not know",
    "do not know",
    "no idea",
    "yes and no",
    "yes or no",
    "kind of",
    "sort of",
)


_CATEGORY = {
    **dict.fromkeys(_YES_PHRASES, "yes"),
    **dict.fromkeys(_NO_PHRASES, "no"),
    **dict.fromkeys(_UNSURE_PHRASES, "unsure"),
}
# One alternation, longest phrase first, scanned left to right: at each position the longest
# phrase wins, so "i'm not sure" is not read as "i'm not", nor "i could be" as "could be".
_YES_NO = re.compile(
    r"\b(?:" + "|".join(re.escape(p) for p in sorted(_CATEGORY, key=len, reverse=True)) + r")\b"
)


def split_yes_no(text: str) -> tuple[bool | None, str]:
    """(True/False/None, the words after the yes/no): "no, eight" -> (False, "eight").

    None when the reply has no clear yes or no, has both, or hedges ("maybe", "not sure").
    The rest lets the dialogue take "no, it's eight" as a correction in one breath.
    """
    norm = normalize(text)
    matches = list(_YES_NO.finditer(norm))
    found = {_CATEGORY[m.group(0)] for m in matches}
    if "unsure" in found or len(found) != 1:
        return None, ""
    return found == {"yes"}, norm[matches[0].end() :].strip()


def parse_boolean(text: str) -> ParseResult:
    """Yes or no in many phrasings: "yeah", "I think so", "nope", "not really"."""
    if not normalize(text):
        return NotUnderstood("empty")
    answer, _rest = split_yes_no(text)
    if answer is None:
        return NotUnderstood("ambiguous" if _YES_NO.search(normalize(text)) else "no_value")
    return Parsed(({"valueBoolean": answer},), "yes" if answer else "no")


_LIST_NONE_PHRASES = frozenset(
    {
        "none",
        "no",
        "nope",
        "nothing",
        "none at all",
        "no none",
        "nothing at all",
        "not any",
        "no i don't",
        "no i'm not",
        "i don't",
        "i don't have any",
        "i don't take any",
        "i don't take anything",
        "i'm not taking anything",
        "i'm not on anything",
        "not taking anything",
        "none that i know of",
        "not that i know of",
        "no known allergies",
        "no allergies",
        "nka",
        "no medicines",
        "no medications",
        "no medication",
        "no conditions",
        "i'm not allergic to anything",
        "not allergic to anything",
    }
)
_LIST_SEPARATORS = re.compile(r"\s*(?:,|;|&|\band also\b|\bas well as\b|\band\b|\bplus\b)\s*")
_LIST_LEADS = re.compile(
    r"^(?:(?:um|uh|er|well|so|oh|ok|okay|yes|yeah|i take|i'm taking|i am taking|i'm on|i am on|"
    r"i use|i have|i've got|i'm allergic to|i am allergic to|allergic to|i get|i've|"
    r"just|only|some|also|my|a|an)\b[\s,]*)+",
    re.IGNORECASE,
)
_NOT_A_LIST_ENTRY = frozenset(
    {"yes", "yeah", "yep", "ok", "okay", "sure", "some", "a few", "several", "lots", "many"}
)


def parse_list(text: str) -> ParseResult:
    """Names of medicines, allergies or conditions: "ibuprofen and metformin", or "none".

    Entries keep the patient's words (trimmed); "none" and "no known allergies" become the
    single entry "none" so that "asked and none" differs from "not asked".
    """
    norm = normalize(text)
    if not norm or all(t in _FILLER for t in norm.split()):
        return NotUnderstood("empty")
    if len(text) > MAX_TEXT_CHARS:
        return NotUnderstood("too_long")
    if norm in _LIST_NONE_PHRASES:
        return Parsed(({"valueString": LIST_NONE},), LIST_NONE)
    cleaned = re.sub(r"[.!?]+$", "", text.strip().translate({0x2019: "'"}))
    entries: list[str] = []
    for raw in _LIST_SEPARATORS.split(cleaned):
        entry = _LIST_LEADS.sub("", raw.strip()).strip(" .,;")
        if not entry:
            continue
        if normalize(entry) in _LIST_NONE_PHRASES or normalize(entry) in _NOT_A_LIST_ENTRY:
            return NotUnderstood("ambiguous")
        if len(entry) > MAX_LIST_ENTRY_CHARS:
            return NotUnderstood("too_long")
        if entry.lower() not in (e.lower() for e in entries):
            entries.append(entry)
    if not entries:
        return NotUnderstood("no_value")
    if len(entries) > MAX_LIST_ENTRIES:
        return NotUnderstood("too_long")
    return Parsed(tuple({"valueString": e} for e in entries), join_words(entries))


def parse_text(text: str) -> ParseResult:
    """Free text, kept verbatim apart from surrounding whitespace."""
    kept = text.strip()
    if not normalize(kept) or all(t in _FILLER for t in normalize(kept).split()):
        return NotUnderstood("empty")
    if len(kept) > MAX_TEXT_CHARS:
        return NotUnderstood("too_long")
    return Parsed(({"valueString": kept},), kept)


def join_words(parts: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
