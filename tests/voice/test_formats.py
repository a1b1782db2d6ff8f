"""Transcript formats parse back: WebVTT and SRT cues, JSON segments."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from voice.errors import VoiceError
from voice.formats import (
    finals_to_json,
    finals_to_srt,
    finals_to_text,
    finals_to_webvtt,
    format_finals,
)
from voice.recognition import Final, Word

VTT_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})"
SRT_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d),(\d{3})"


def seconds(parts: tuple[str, ...]) -> float:
    h, m, s, ms = (int(p) for p in parts)
    return h * 3600 + m * 60 + s + ms / 1000


def parse_webvtt(text: str) -> list[tuple[float, float, str]]:
    """A strict reader for the subset we write (header, blank-line separated cues)."""
    blocks = text.split("\n\n")
    assert blocks[0].rstrip("\n") == "WEBVTT"
    cues = []
    for block in blocks[1:]:
        lines = block.strip("\n").split("\n")
        timing = re.fullmatch(f"{VTT_TIME} --> {VTT_TIME}", lines[0])
        assert timing, lines[0]
        start, end = seconds(timing.groups()[:4]), seconds(timing.groups()[4:])
        assert end > start
        payload = "\n".join(lines[1:])
        assert payload and "-->" not in payload and "<" not in payload
        unescaped = payload.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        cues.append((start, end, unescaped))
    return cues


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    cues = []
    for number, block in enumerate(text.strip("\n").split("\n\n"), start=1):
        lines = block.split("\n")
        assert lines[0] == str(number)
        timing = re.fullmatch(f"{SRT_TIME} --> {SRT_TIME}", lines[1])
        assert timing, lines[1]
        cues.append((seconds(timing.groups()[:4]), seconds(timing.groups()[4:]), lines[2]))
        assert len(lines) == 3
    return cues


FINALS = [
    Final(
        "I have a headache.",
        1.5,
        3.25,
        (Word("I", 1.5, 1.6, 0.9), Word("have", 1.6, 1.9, 0.8)),
        0.85,
    ),
    Final("Since <Monday> & Tuesday --> worse", 3725.004, 3727.5, (), 0.7),
]


def test_webvtt_cues_parse_back_with_exact_times() -> None:
    cues = parse_webvtt(finals_to_webvtt(FINALS))
    assert cues == [
        (1.5, 3.25, "I have a headache."),
        (3725.004, 3727.5, "Since <Monday> & Tuesday --> worse"),
    ]
    assert "01:02:05.004 --> 01:02:07.500" in finals_to_webvtt(FINALS)


def test_srt_cues_parse_back_numbered_with_commas() -> None:
    text = finals_to_srt(FINALS)
    assert text.startswith("1\n00:00:01,500 --> 00:00:03,250\nI have a headache.\n\n2\n")
    assert [c[:2] for c in parse_srt(text)] == [(1.5, 3.25), (3725.004, 3727.5)]


def test_json_keeps_words_and_times() -> None:
    data = json.loads(finals_to_json(FINALS))
    first = data["segments"][0]
    assert first["text"] == "I have a headache."
    assert (first["start"], first["end"], first["confidence"]) == (1.5, 3.25, 0.85)
    assert first["words"][1] == {"text": "have", "start": 1.6, "end": 1.9, "confidence": 0.8}


def test_text_is_one_line_per_utterance_and_unknown_format_fails() -> None:
    assert finals_to_text(FINALS).splitlines() == [f.text for f in FINALS]
    assert format_finals([], "vtt") == "WEBVTT\n"
    with pytest.raises(VoiceError, match="unknown transcript format"):
        format_finals(FINALS, "docx")  # type: ignore[arg-type]


@given(
    st.lists(
        st.tuples(
            st.floats(0, 400_000, allow_nan=False),
            st.floats(0, 30, allow_nan=False),
            st.text(min_size=1, max_size=40),
        ),
        max_size=8,
    )
)
# Found by hypothesis: a start and an end 0.5 ms apart round to the same millisecond.
@example([(1.4375, 0.0, "0")])
def test_any_finals_render_to_parseable_cues(items: list[tuple[float, float, str]]) -> None:
    finals = [Final(text, start, start + length) for start, length, text in items]
    spoken = [f for f in finals if f.text.strip()]
    vtt = parse_webvtt(finals_to_webvtt(finals))
    srt = parse_srt(finals_to_srt(finals)) if spoken else []
    assert len(vtt) == len(srt) == len(spoken)
    for final, (start, end, text) in zip(spoken, vtt, strict=True):
        assert start == pytest.approx(final.start_s, abs=0.0006)
        assert end >= start
        assert text == " ".join(final.text.split())
