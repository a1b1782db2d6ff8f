"""Checking a synthesis request before it reaches the engine: text, voice, rate, volume.

Everything a caller can get wrong is caught here with a clear `SynthesisRequestError`, so the
worker process only ever sees requests it can speak.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from voice.errors import SynthesisError
from voice.tts_process import VoiceInfo

# Screen-reader users listen at up to ~450 words per minute; espeak-ng accepts 80-450.
MIN_RATE_WPM = 80
MAX_RATE_WPM = 450
# Control characters say nothing and a NUL would cut the C string short inside espeak-ng.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class SynthesisRequestError(SynthesisError, ValueError):
    """The request itself is invalid (empty or over-long text, unknown voice, rate out of range).

    Defined here until the lead adds it to `voice.errors`.
    """


@dataclass(frozen=True, slots=True)
class SpeechRequest:
    """A checked request: what the engine is asked to say, and the cache key."""

    text: str
    voice: str  # a voice id from the engine's list
    rate_wpm: int
    volume: float


def build_request(
    text: str,
    *,
    voice: VoiceInfo,
    rate_wpm: int,
    volume: float,
    max_text_chars: int,
) -> SpeechRequest:
    """Clean and check `text` and the settings; raise SynthesisRequestError if unusable."""
    cleaned = _CONTROL_CHARS.sub(" ", text).strip()
    if not cleaned:
        raise SynthesisRequestError("text to speak is empty")
    if len(cleaned) > max_text_chars:
        raise SynthesisRequestError(
            f"text to speak is {len(cleaned)} characters; the limit is {max_text_chars}"
        )
    check_rate(rate_wpm)
    if isinstance(volume, bool) or not (math.isfinite(volume) and 0.0 <= volume <= 1.0):
        raise SynthesisRequestError("volume must be between 0.0 and 1.0")
    return SpeechRequest(cleaned, voice.id, rate_wpm, float(volume))


def check_rate(rate_wpm: int) -> None:
    """Refuse a speaking rate outside 80-450 words per minute (or not a whole number)."""
    if isinstance(rate_wpm, bool) or not isinstance(rate_wpm, int):
        raise SynthesisRequestError("rate_wpm must be a whole number of words per minute")
    if not MIN_RATE_WPM <= rate_wpm <= MAX_RATE_WPM:
        raise SynthesisRequestError(
            f"rate_wpm must be between {MIN_RATE_WPM} and {MAX_RATE_WPM} words per minute"
        )


def resolve_voice(voices: Sequence[VoiceInfo], requested: str) -> VoiceInfo:
    """Find a voice by id ("gmw/en-us"), its last part ("en-us"), name, or language tag."""
    wanted = requested.strip().lower()
    matchers = (
        lambda v: v.id.lower() == wanted,
        lambda v: v.id.lower().rsplit("/", 1)[-1] == wanted,
        lambda v: v.name.lower() == wanted,
        lambda v: wanted in (lang.lower() for lang in v.languages),
    )
    for matches in matchers:
        for voice in voices:
            if matches(voice):
                return voice
    raise SynthesisRequestError(f"unknown voice {requested!r}")
