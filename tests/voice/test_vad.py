"""VAD: the pure segmenter on known probabilities, Silero and the tracker on real speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.voice.speech_helpers import LIBRIVOX, speech_chunks
from voice.segmentation import SpeechTracker, UtteranceAudio, UtteranceEnd, UtteranceStart
from voice.vad import (
    WINDOW_SAMPLES,
    SileroVad,
    SpeechEnded,
    SpeechStarted,
    UtteranceSegmenter,
    VadSettings,
)

W = WINDOW_SAMPLES


def probabilities(*runs: tuple[float, int]) -> np.ndarray:
    return np.concatenate([np.full(count, p, dtype=np.float32) for p, count in runs])


def test_segmenter_finds_start_and_end_with_hysteresis() -> None:
    settings = VadSettings(min_speech_ms=64, end_silence_ms=320)  # 2 and 10 windows
    segmenter = UtteranceSegmenter(settings)
    events = segmenter.push(
        probabilities(
            (0.1, 5),
            (0.9, 1),  # one window is a click, not speech
            (0.1, 3),
            (0.9, 20),
            (0.4, 4),  # between thresholds right after speech: still speech
            (0.1, 5),  # silence, but shorter than end_silence
            (0.45, 2),  # between thresholds inside silence: counts as silence
            (0.9, 10),
            (0.1, 12),
        )
    )
    assert events == [
        SpeechStarted(sample=9 * W, decided_at=11 * W),
        SpeechEnded(sample=(9 + 20 + 4 + 5 + 2 + 10) * W, decided_at=(50 + 10) * W),
    ]
    assert not segmenter.in_speech


def test_segmenter_cuts_overlong_utterances_and_closes_at_end_of_stream() -> None:
    segmenter = UtteranceSegmenter(VadSettings(max_utterance_s=1.0))
    events = segmenter.push(probabilities((0.9, 40)))
    assert isinstance(events[0], SpeechStarted)
    assert isinstance(events[1], SpeechEnded)
    assert events[1].sample == pytest.approx(16000, abs=W)
    segmenter.push(probabilities((0.9, 5)))
    assert segmenter.in_speech
    assert segmenter.end_of_stream() == [SpeechEnded(45 * W, 45 * W)]
    assert segmenter.end_of_stream() == []


def test_silero_hears_librivox_speech_and_not_silence() -> None:
    chunks, spans = speech_chunks(
        [LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav"], 16000
    )
    vad = SileroVad()
    probs = np.concatenate([vad.process(c.samples().astype(np.float32) / 32768) for c in chunks])
    window_s = W / 16000
    speech_start, speech_end = spans[0]
    before = probs[: int((speech_start - 0.3) / window_s)]
    during = probs[int((speech_start + 0.5) / window_s) : int((speech_end - 0.5) / window_s)]
    assert before.max() < 0.2
    assert np.mean(during > 0.5) > 0.7


def test_tracker_reports_utterances_in_stream_order(tmp_path: Path) -> None:
    clips = [LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav"] * 2
    chunks, spans = speech_chunks(clips, 16000, gap_s=1.5)
    tracker = SpeechTracker(16000)
    ops = [op for chunk in chunks for op in tracker.push(chunk.samples())] + tracker.finish()
    kinds = [type(op) for op in ops if not isinstance(op, UtteranceAudio)]
    assert kinds == [UtteranceStart, UtteranceEnd] * 2
    starts = [op for op in ops if isinstance(op, UtteranceStart)]
    ends = [op for op in ops if isinstance(op, UtteranceEnd)]
    for (clip_start, clip_end), start, end in zip(spans, starts, ends, strict=True):
        assert start.onset / 16000 == pytest.approx(clip_start + 0.25, abs=0.3)
        assert end.speech_end / 16000 == pytest.approx(clip_end - 0.05, abs=0.3)
        # The preroll reaches back before the onset and ends where the utterance audio begins.
        assert start.preroll_start < start.onset
    # Utterance audio is contiguous from the end of the preroll to the end decision.
    first_audio = [op for op in ops[: ops.index(ends[0])] if isinstance(op, UtteranceAudio)]
    position = starts[0].preroll_start + starts[0].preroll.size
    for op in first_audio:
        assert op.start == position
        position += op.samples.size


def test_tracker_at_8k_maps_vad_positions_to_stream_samples() -> None:
    chunks, spans = speech_chunks(
        [LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav"], 8000
    )
    tracker = SpeechTracker(8000)
    ops = [op for chunk in chunks for op in tracker.push(chunk.samples())] + tracker.finish()
    start = next(op for op in ops if isinstance(op, UtteranceStart))
    end = next(op for op in ops if isinstance(op, UtteranceEnd))
    assert start.onset / 8000 == pytest.approx(spans[0][0] + 0.25, abs=0.3)
    assert end.speech_end / 8000 == pytest.approx(spans[0][1] - 0.05, abs=0.3)
