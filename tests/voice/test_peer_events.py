"""The assistant peer's wire format and clock mapping (pure logic, no models)."""

from __future__ import annotations

import json

import pytest

from voice.peer_events import (
    AudioDropped,
    PeerClosed,
    Recognized,
    SpeechFinished,
    SpeechStarted,
    event_message,
)
from voice.peer_timeline import AudioTimeline
from voice.recognition import Final, NotUnderstood, Partial, Word


def decoded(message: str | None) -> object:
    assert isinstance(message, str)
    return json.loads(message)


def test_every_event_has_one_json_message_and_closing_has_none() -> None:
    word = Word("mute", 1.2344, 1.5, 0.91234)
    final = Final("mute", 1.2344, 1.5, (word,), 0.91234)
    assert decoded(event_message(Recognized(Partial("mu"), 1.0, 0.0))) == {
        "type": "partial",
        "text": "mu",
    }
    assert decoded(event_message(Recognized(final, 1.6, 0.0))) == {
        "type": "final",
        "text": "mute",
        "start_s": 1.234,
        "end_s": 1.5,
        "confidence": 0.912,
        "words": [{"text": "mute", "start_s": 1.234, "end_s": 1.5, "confidence": 0.912}],
    }
    assert decoded(event_message(Recognized(NotUnderstood("mutt the cat", 2, 3), 3, 0))) == {
        "type": "not_understood",
        "heard": "mutt the cat",
        "start_s": 2,
        "end_s": 3,
    }
    assert decoded(event_message(AudioDropped(0.64, 1.28))) == {
        "type": "audio_dropped",
        "seconds": 0.64,
        "total_s": 1.28,
    }
    assert decoded(event_message(SpeechStarted("Hello"))) == {"type": "speaking", "text": "Hello"}
    assert decoded(event_message(SpeechFinished("Hello", interrupted=True))) == {
        "type": "spoken",
        "text": "Hello",
        "interrupted": True,
    }
    assert event_message(PeerClosed("closed")) is None


def test_non_ascii_text_is_sent_as_is_and_nan_is_never_sent() -> None:
    message = event_message(Recognized(Partial('음소거 "해"\n'), 0.5, 0.0))
    assert message == '{"type":"partial","text":"음소거 \\"해\\"\\n"}'
    assert event_message(Recognized(Final("x", float("nan"), 1.0), 1.0, 0.0)) is None
    bad_word = Word("x", 0.0, float("inf"), 1.0)
    assert event_message(Recognized(Final("x", 0.0, 1.0, (bad_word,)), 1.0, 0.0)) is None


def test_timeline_maps_recognizer_time_across_drops_and_restarts() -> None:
    timeline = AudioTimeline()
    assert timeline.audio_s == 0.0
    timeline.fed(0.0, 0.16)
    timeline.fed(0.16, 0.16)
    assert timeline.to_audio(0.2) == 0.2
    timeline.fed(2.0, 0.16)  # 1.68 s dropped before this chunk
    assert timeline.audio_s == pytest.approx(2.16)
    assert timeline.to_audio(0.31) == 0.31  # before the gap
    assert timeline.to_audio(0.32) == 2.0  # the first sample after it
    assert timeline.to_audio(0.40) == 2.08
    final = Final("a b", 0.1, 0.4, (Word("a", 0.1, 0.2, 1.0), Word("b", 0.35, 0.4, 1.0)))
    moved = timeline.retime(final)
    assert isinstance(moved, Final)
    assert (moved.start_s, moved.end_s) == (0.1, 2.08)
    assert [(w.start_s, w.end_s) for w in moved.words] == [(0.1, 0.2), (2.03, 2.08)]
    heard = timeline.retime(NotUnderstood("x", 0.33, 0.4))
    assert isinstance(heard, NotUnderstood) and (heard.start_s, heard.end_s) == (2.01, 2.08)
    assert timeline.retime(Partial("a")) == Partial("a")

    timeline.restart()  # a new recognizer (new phrase list) starts at participant 5.0 s
    timeline.fed(5.0, 0.16)
    assert timeline.to_audio(0.05) == 5.05
    assert timeline.audio_s == pytest.approx(5.16)


def test_timeline_memory_is_bounded() -> None:
    timeline = AudioTimeline()
    position = 0.0
    for _ in range(5 * AudioTimeline.MAX_MARKS):
        timeline.fed(position, 0.16)
        position += 0.32  # every other chunk dropped
    assert len(timeline._mark_at) <= AudioTimeline.MAX_MARKS
    assert timeline.audio_s == pytest.approx(position - 0.16)
    last = 5 * AudioTimeline.MAX_MARKS * 0.16 - 0.08  # the middle of the last chunk fed
    assert timeline.to_audio(last) == pytest.approx(position - 0.24, abs=0.001)
