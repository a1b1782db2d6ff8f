"""Transcripts of `Final`s as plain text, JSON, WebVTT and SRT."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from voice.errors import VoiceError
from voice.recognition import Final

TranscriptFormat = Literal["text", "json", "vtt", "srt"]


def cue_clock(seconds: float, separator: str) -> str:
    """`HH:MM:SS.mmm` (WebVTT, separator ".") or `HH:MM:SS,mmm` (SRT, separator ",")."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _one_line(text: str) -> str:
    # A blank line would end the cue early; keep each cue on one line.
    return " ".join(text.split())


def cue_span(start_s: float, end_s: float) -> tuple[float, float]:
    """A cue's start and end on the millisecond clock cues are written in, the end at least
    a millisecond after the start: WebVTT requires a cue to end after it starts, and two
    times a fraction of a millisecond apart would round to the same clock."""
    start_ms = max(0, round(start_s * 1000))
    end_ms = max(round(end_s * 1000), start_ms + 1)
    return start_ms / 1000, end_ms / 1000


def finals_to_text(finals: Sequence[Final]) -> str:
    """One utterance per line."""
    return "".join(f"{_one_line(final.text)}\n" for final in finals if final.text.strip())


def finals_to_json(finals: Sequence[Final]) -> str:
    """`{"segments": [{start, end, text, confidence, words: [{text, start, end, confidence}]}]}`."""
    segments = [
        {
            "start": round(final.start_s, 3),
            "end": round(final.end_s, 3),
            "text": final.text,
            "confidence": round(final.confidence, 3),
            "words": [
                {
                    "text": word.text,
                    "start": round(word.start_s, 3),
                    "end": round(word.end_s, 3),
                    "confidence": round(word.confidence, 3),
                }
                for word in final.words
            ],
        }
        for final in finals
    ]
    return json.dumps({"segments": segments}, ensure_ascii=False, indent=2) + "\n"


def _escape_vtt(text: str) -> str:
    return _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def finals_to_webvtt(finals: Sequence[Final]) -> str:
    """A WebVTT file, one cue per utterance (`HH:MM:SS.mmm --> HH:MM:SS.mmm`)."""
    cues = ["WEBVTT\n"]
    for final in finals:
        if not final.text.strip():
            continue
        start, end = cue_span(final.start_s, final.end_s)
        cues.append(
            f"{cue_clock(start, '.')} --> {cue_clock(end, '.')}\n{_escape_vtt(final.text)}\n"
        )
    return "\n".join(cues)


def finals_to_srt(finals: Sequence[Final]) -> str:
    """A SubRip file, numbered cues from 1 (`HH:MM:SS,mmm --> HH:MM:SS,mmm`)."""
    cues: list[str] = []
    for final in finals:
        if not final.text.strip():
            continue
        start, end = cue_span(final.start_s, final.end_s)
        cues.append(
            f"{len(cues) + 1}\n{cue_clock(start, ',')} --> {cue_clock(end, ',')}\n"
            f"{_one_line(final.text)}\n"
        )
    return "\n".join(cues)


def format_finals(finals: Sequence[Final], transcript_format: TranscriptFormat) -> str:
    """Render `finals` in one of the supported formats."""
    renderers = {
        "text": finals_to_text,
        "json": finals_to_json,
        "vtt": finals_to_webvtt,
        "srt": finals_to_srt,
    }
    if transcript_format not in renderers:
        raise VoiceError(f"unknown transcript format {transcript_format!r}")
    return renderers[transcript_format](finals)
