"""Phrase lists: map what a recognizer heard to the closest listed phrase, or to nothing.

Used by every engine when a stream has a phrase list (voice commands, yes/no answers):
the hypothesis is normalized (case, punctuation, width, Hangul syllables split into
letters so near-misses in Korean score by letter, not by syllable) and compared with
rapidfuzz's normalized Indel similarity.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from voice.errors import VoiceError

DEFAULT_THRESHOLD = 75.0
AMBIGUITY_MARGIN = 5.0
MAX_PHRASES = 500
MAX_PHRASE_CHARS = 200


def normalize_text(text: str) -> str:
    """Lower-case, punctuation and symbols to spaces, whitespace collapsed (for display keys)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = [" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in folded]
    return " ".join("".join(kept).split())


def collapse_repeats(words: list[str]) -> list[str]:
    """Drop immediate repetitions of any word run ("camera off camera off" -> "camera off"):
    recognizers repeat short utterances, people rarely repeat a command within one."""
    result = list(words)
    changed = True
    while changed:
        changed = False
        for size in range(1, len(result) // 2 + 1):
            for start in range(len(result) - 2 * size + 1):
                if result[start : start + size] == result[start + size : start + 2 * size]:
                    del result[start + size : start + 2 * size]
                    changed = True
                    break
            if changed:
                break
    return result


def _match_key(text: str, collapse: bool = True) -> str:
    words = normalize_text(text).split()
    if collapse:
        words = collapse_repeats(words)
    # NFD splits Hangul syllables into jamo: a one-letter slip costs one letter, not a syllable.
    return unicodedata.normalize("NFD", " ".join(words))


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    """The listed phrase closest to what was heard, and how close (0-100)."""

    phrase: str
    score: float


class PhraseList:
    """An immutable list of phrases with a fuzzy `match`. Raises `VoiceError` on a bad list."""

    def __init__(
        self,
        phrases: Sequence[str],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        collapse_repeats: bool = True,
    ) -> None:
        if isinstance(phrases, str):
            raise VoiceError("phrases must be a list of strings, not one string")
        if not 0.0 < threshold <= 100.0:
            raise VoiceError(f"phrase threshold must be in (0, 100], got {threshold}")
        if len(phrases) > MAX_PHRASES:
            raise VoiceError(f"at most {MAX_PHRASES} phrases, got {len(phrases)}")
        unique: dict[str, str] = {}
        for phrase in phrases:
            if not isinstance(phrase, str) or len(phrase) > MAX_PHRASE_CHARS:
                raise VoiceError(
                    f"each phrase must be a string of at most {MAX_PHRASE_CHARS} chars"
                )
            key = _match_key(phrase)
            if not key:
                raise VoiceError(f"phrase {phrase!r} has no words")
            unique.setdefault(key, phrase.strip())
        if not unique:
            raise VoiceError("a phrase list needs at least one phrase")
        self.threshold = threshold
        self.collapse_repeats = collapse_repeats
        self._keys = list(unique)
        self._phrases = list(unique.values())

    @property
    def phrases(self) -> tuple[str, ...]:
        return tuple(self._phrases)

    def words(self) -> list[str]:
        """Each distinct normalized word, in first-seen order (for a Vosk grammar)."""
        seen: dict[str, None] = {}
        for phrase in self._phrases:
            for word in normalize_text(phrase).split():
                seen.setdefault(word, None)
        return list(seen)

    def ranked(self, heard: str, limit: int = 2) -> list[PhraseMatch]:
        """The closest phrases, best first, whatever their score (empty for empty input)."""
        key = _match_key(heard, self.collapse_repeats)
        if not key:
            return []
        found = process.extract(key, self._keys, scorer=fuzz.ratio, limit=limit)
        return [PhraseMatch(self._phrases[index], float(score)) for _, score, index in found]

    def match(self, heard: str) -> PhraseMatch | None:
        """The closest phrase if it scores at least `threshold` and clearly beats the
        runner-up (by more than `AMBIGUITY_MARGIN`: "camera" is neither "camera on" nor
        "camera off"); else None."""
        ranked = self.ranked(heard)
        if not ranked or ranked[0].score < self.threshold:
            return None
        if len(ranked) > 1 and ranked[1].score >= ranked[0].score - AMBIGUITY_MARGIN:
            return None
        return ranked[0]
