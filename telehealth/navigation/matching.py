"""Fuzzy matching of an utterance's words: the wake phrase, and the phrases of actions.

Words are `voice.phrases.normalize_text` output (lower case, no punctuation), and scores
are rapidfuzz's normalized Indel similarity (0-100), as in the recognizer's phrase lists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from telehealth.navigation.actions import Action
from voice.phrases import (
    AMBIGUITY_MARGIN,
    DEFAULT_THRESHOLD,
    PhraseList,
    collapse_repeats,
    normalize_text,
)

# "assistance" (84) and "assist and" (89 run together) still count as the wake word;
# "as i said" (62) does not.
WAKE_THRESHOLD = 80.0
# One of these may come before the wake phrase ("hey assistant", "okay assistant").
LEADING_FILLERS = frozenset({"hey", "hi", "ok", "okay", "oh", "um", "uh", "er", "erm", "so"})


_CLAUSE_BREAK = re.compile(r"[,.;:!?]+")

# Said around a command without changing it: "could you mute me please".
POLITE_LEADS = (("please",), ("can", "you"), ("could", "you"), ("would", "you"))
POLITE_TAILS = (("please",), ("thanks",), ("thank", "you"))


def trim_politeness(words: Sequence[str]) -> list[str]:
    """`words` without polite leads and tails ("could you", "please", "thank you")."""
    trimmed = list(words)
    changed = True
    while changed:
        changed = False
        for lead in POLITE_LEADS:
            if len(trimmed) > len(lead) and tuple(trimmed[: len(lead)]) == lead:
                trimmed, changed = trimmed[len(lead) :], True
        for tail in POLITE_TAILS:
            if len(trimmed) > len(tail) and tuple(trimmed[-len(tail) :]) == tail:
                trimmed, changed = trimmed[: -len(tail)], True
    return trimmed


class ActionPhrases:
    """Matching words against the phrases of some actions: the best action must reach the
    threshold and beat the best *other* action by more than the margin (two phrases of one
    action close to each other are no ambiguity)."""

    def __init__(self, actions: Sequence[Action]) -> None:
        self._action_of: dict[str, str] = {}
        self._exact: dict[str, str] = {}
        for action in actions:
            for phrase in action.phrases:
                self._action_of.setdefault(phrase, action.id)
                self._exact.setdefault(normalize_text(phrase), action.id)
        self._list = PhraseList(list(self._action_of))

    def best(self, words: Sequence[str], *, exact: bool = False) -> str | None:
        """The id of the action `words` say (politeness aside), or None; with `exact`, only
        a phrase said exactly. An exact phrase wins outright: "mute my microphone" is 95
        like "unmute my microphone", which is no doubt."""
        words = trim_politeness(words)
        if not words:
            return None
        found = self._exact.get(" ".join(collapse_repeats(list(words))))
        if found is not None or exact:
            return found
        ranked = self._list.ranked(" ".join(words), limit=len(self._action_of))
        if not ranked or ranked[0].score < DEFAULT_THRESHOLD:
            return None
        best = self._action_of[ranked[0].phrase]
        for other in ranked[1:]:
            if self._action_of[other.phrase] != best:
                if other.score >= ranked[0].score - AMBIGUITY_MARGIN:
                    return None
                break
        return best

    def best_of(self, segments: Sequence[Sequence[str]], *, exact: bool = False) -> str | None:
        """The one action the segments name (empty and unmatched ones aside), or None when
        they name none or disagree. Whisper, prompted with the phrase list, sometimes goes
        on listing: "assistant where am I, assistant where I'm I" is still one command,
        "assistant start listening, assistant stop listening" is no telling which."""
        kept: list[Sequence[str]] = []
        for segment in segments:
            # A later segment that repeats the start of an earlier one ("volume down,
            # assistant volume") is the listing running out, not a second command.
            if segment and not any(list(segment) == list(k[: len(segment)]) for k in kept):
                kept.append(segment)
        found = {self.best(segment, exact=exact) for segment in kept} - {None}
        return found.pop() if len(found) == 1 else None

    def find(self, heard: Heard, *, strict: bool = False) -> str | None:
        """The action `heard` names: from its segments, else from its clauses; `strict`:
        only a whole utterance that is exactly a phrase (politeness and repeats aside)."""
        if strict:
            return self.best_of(heard.segments, exact=True)
        return self.best_of(heard.segments) or self.best_of(heard.clauses)


def wake_length_at(words: Sequence[str], start: int, wake: Sequence[str]) -> int:
    """How many words at `start` say the wake phrase (0 if they do not). Recognizers spell
    it "Assistance" or "Assist and", so a run of one more or one fewer words is tried."""
    target = "".join(wake)
    best_score, best_count = 0.0, 0
    for count in range(max(1, len(wake) - 1), len(wake) + 2):
        if start + count > len(words):
            break
        first = words[start]
        candidate = "".join(words[start : start + count])
        # Run together, "mute assistant" (82) or "on assistant" (90) look like the wake
        # word; so the run must begin like it and be about as long.
        if fuzz.ratio(first, target[: len(first)]) < WAKE_THRESHOLD or abs(
            len(candidate) - len(target)
        ) > max(2, len(target) // 4):
            continue
        score = float(fuzz.ratio(candidate, target))
        if score > best_score:
            best_score, best_count = score, count
    return best_count if best_score >= WAKE_THRESHOLD else 0


def strip_wake(words: Sequence[str], wake: Sequence[str]) -> tuple[list[str], bool]:
    """(the words after the wake phrase, True) if `words` start with it, after at most one
    filler like "hey"; else (`words`, False)."""
    starts = [0, 1] if words and words[0] in LEADING_FILLERS else [0]
    for start in starts:
        count = wake_length_at(words, start, wake)
        if count:
            return list(words[start + count :]), True
    return list(words), False


def split_on_wake(words: Sequence[str], wake: Sequence[str]) -> list[list[str]]:
    """The runs of words between repetitions of the wake phrase."""
    segments: list[list[str]] = [[]]
    index = 0
    while index < len(words):
        count = wake_length_at(words, index, wake)
        if count:
            segments.append([])
            index += count
        else:
            segments[-1].append(words[index])
            index += 1
    return segments


@dataclass(frozen=True, slots=True)
class Heard:
    """One utterance cut up for matching."""

    words: list[str]
    woken: bool  # it began with the wake phrase (or came right after the wake phrase alone)
    segments: list[list[str]]  # the words between wake phrases
    # The same, also cut at punctuation: a second try for "Yeah, yes." or "Mute, mute me."
    clauses: list[list[str]]

    @property
    def wake_only(self) -> bool:
        return self.woken and not any(self.segments)


def hear(text: str, wake: Sequence[str], *, woken_before: bool = False) -> Heard:
    """Cut `text` up: wake phrase, segments between wake phrases, clauses."""
    words = normalize_text(text).split()
    rest, woken = strip_wake(words, wake)
    woken = woken or woken_before
    segments = split_on_wake(rest, wake) if woken else [rest]
    clauses: list[list[str]] = []
    for clause in _CLAUSE_BREAK.split(text):
        clause_words = normalize_text(clause).split()
        clauses.extend(split_on_wake(clause_words, wake) if woken else [clause_words])
    return Heard(words, woken, segments, clauses)
