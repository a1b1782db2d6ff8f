"""Finding known phrases in a reply, and telling "no fever" from "fever".

Used for choice answers ("fever and a cough"), for red-flag findings in free text ("my
face is drooping") and for naming an item to change ("the allergies"). Negation is a
deliberately small heuristic: "no" negates the phrase right after it ("no fever", "no real
pain"); "not", "don't", "never", "without" and the like negate phrases up to six words
on, unless "but", "except" or punctuation comes first. It errs towards "not negated" only
where the red-flag table asks for that (self-harm phrases are never negated).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from telehealth.intake.words import CLAUSE_BREAKS, tokens

_SCOPED_NEGATORS = frozenset(
    {
        "not",
        "don't",
        "doesn't",
        "didn't",
        "haven't",
        "hasn't",
        "hadn't",
        "never",
        "without",
        "denies",
        "deny",
        "isn't",
        "wasn't",
        "aren't",
        "nor",
        "neither",
        "none",
    }
)
_SCOPE_WORDS = 6
_SCOPE_ENDS = CLAUSE_BREAKS | {"but", "except", "although", "though", "however", "yet", "apart"}
# Words that may stand between "no" and what it negates: "no real fever", "no sign of rash".
_NO_MODIFIERS = frozenset(
    {"real", "bad", "serious", "high", "major", "much", "significant", "big", "more", "any"}
    | {"other", "a", "signs", "sign", "of", "obvious", "actual"}
)


@dataclass(frozen=True, slots=True)
class Mention:
    """A phrase of `key` found at tokens `[start, end)`."""

    key: str
    start: int
    end: int
    negated: bool


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Phrases (as token tuples) and the key each one names, longest phrase first."""

    entries: tuple[tuple[tuple[str, ...], str], ...]

    @classmethod
    def build(cls, phrases_by_key: Mapping[str, Iterable[str]]) -> Lexicon:
        entries = {
            tuple(tok for tok in tokens(phrase) if tok not in CLAUSE_BREAKS): key
            for key, phrases in phrases_by_key.items()
            for phrase in phrases
        }
        ordered = sorted(((p, k) for p, k in entries.items() if p), key=lambda e: -len(e[0]))
        return cls(tuple(ordered))

    def keys(self) -> frozenset[str]:
        return frozenset(key for _, key in self.entries)


def find_mentions(text: str, lexicon: Lexicon) -> list[Mention]:
    """Every phrase of `lexicon` in `text`, left to right, longest match first."""
    toks = tokens(text)
    found: list[Mention] = []
    i = 0
    while i < len(toks):
        for phrase, key in lexicon.entries:
            if tuple(toks[i : i + len(phrase)]) == phrase:
                found.append(Mention(key, i, i + len(phrase), _negated(toks, i)))
                i += len(phrase)
                break
        else:
            i += 1
    return found


def _negated(toks: list[str], start: int) -> bool:
    # "no" reaches only the phrase right after it, past a few modifiers.
    j = start - 1
    while j >= 0 and toks[j] in _NO_MODIFIERS:
        j -= 1
    if j >= 0 and toks[j] == "no" and start - j <= 3:
        return True
    for k in range(start - 1, max(start - 1 - _SCOPE_WORDS, -1), -1):
        if toks[k] in _SCOPE_ENDS:
            return False
        if toks[k] in _SCOPED_NEGATORS:
            return True
    return False
