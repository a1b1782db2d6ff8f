"""Cut one PCM stream into utterances with the VAD, for the engines to consume.

`SpeechTracker.push` takes each converted chunk and says, in stream order, where
utterances start (with the preroll audio just before the onset), which audio belongs to
them, and where they end. Audio between utterances is kept only as preroll, so engines
spend no CPU on silence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import soxr

from voice.vad import (
    VAD_SAMPLE_RATE,
    SegmentEvent,
    SileroVad,
    SpeechEnded,
    SpeechStarted,
    UtteranceSegmenter,
    VadSettings,
)

Int16Array = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class UtteranceStart:
    """An utterance begins at sample `onset`; `preroll` is the audio from `preroll_start`
    up to the decision point (it includes the onset)."""

    onset: int
    preroll_start: int
    preroll: Int16Array


@dataclass(frozen=True, slots=True)
class UtteranceAudio:
    """Audio of the utterance in progress, starting at sample `start`."""

    start: int
    samples: Int16Array


@dataclass(frozen=True, slots=True)
class UtteranceEnd:
    """The utterance ended: speech stopped at sample `speech_end`."""

    speech_end: int


StreamOp = UtteranceStart | UtteranceAudio | UtteranceEnd


class SpeechTracker:
    """VAD segmentation of one stream at `sample_rate` (sample positions count from 0)."""

    def __init__(self, sample_rate: int, settings: VadSettings | None = None) -> None:
        self.sample_rate = sample_rate
        self.segmenter = UtteranceSegmenter(settings)
        self._vad = SileroVad()
        # The VAD model runs at 16 kHz; other engine rates get a resampled copy for it.
        self._vad_resampler = (
            None
            if sample_rate == VAD_SAMPLE_RATE
            else soxr.ResampleStream(sample_rate, VAD_SAMPLE_RATE, 1, dtype="float32")
        )
        self._preroll_samples = sample_rate * self.segmenter.settings.preroll_ms // 1000
        self._ring = np.zeros(0, dtype=np.int16)
        self.position = 0

    @property
    def in_speech(self) -> bool:
        return self.segmenter.in_speech

    @property
    def trailing_silence_s(self) -> float:
        return self.segmenter.trailing_silence_samples / VAD_SAMPLE_RATE

    @property
    def silence_start(self) -> int:
        """Where the current run of silence began (the end of speech if it lasts)."""
        segmenter = self.segmenter
        return self._to_stream(segmenter.position - segmenter.trailing_silence_samples)

    def push(self, samples: Int16Array) -> list[StreamOp]:
        """Consume one chunk; return what it means, in stream order."""
        floats = samples.astype(np.float32) / 32768.0
        if self._vad_resampler is not None:
            floats = self._vad_resampler.resample_chunk(floats)
        events = self.segmenter.push(self._vad.process(floats))
        return self._route(samples, events)

    def finish(self) -> list[UtteranceEnd]:
        """End of input: close an open utterance."""
        return [
            self._end_op(event)
            for event in self.segmenter.end_of_stream()
            if isinstance(event, SpeechEnded)
        ]

    def reset(self) -> None:
        """Forget the utterance in progress (no end is reported); keep the stream clock."""
        self.segmenter.reset()
        self._ring = np.zeros(0, dtype=np.int16)

    def _to_stream(self, vad_sample: int) -> int:
        return round(vad_sample * self.sample_rate / VAD_SAMPLE_RATE)

    def _end_op(self, event: SpeechEnded) -> UtteranceEnd:
        return UtteranceEnd(self._to_stream(event.sample))

    def _route(self, samples: Int16Array, events: list[SegmentEvent]) -> list[StreamOp]:
        chunk_start = self.position
        chunk_end = chunk_start + samples.size
        ops: list[StreamOp] = []
        cursor = chunk_start
        # The chunk starts inside an utterance if its first event ends one.
        speaking = not isinstance(events[0], SpeechStarted) if events else self.segmenter.in_speech
        for event in events:
            cut = min(max(self._to_stream(event.decided_at), cursor), chunk_end)
            piece = samples[cursor - chunk_start : cut - chunk_start]
            self._consume(piece, cursor, speaking, ops)
            cursor = cut
            if isinstance(event, SpeechStarted):
                ops.append(
                    UtteranceStart(
                        onset=self._to_stream(event.sample),
                        preroll_start=cursor - self._ring.size,
                        preroll=self._ring,
                    )
                )
                self._ring = np.zeros(0, dtype=np.int16)
                speaking = True
            else:
                ops.append(self._end_op(event))
                speaking = False
        self._consume(samples[cursor - chunk_start :], cursor, speaking, ops)
        self.position = chunk_end
        return ops

    def _consume(self, piece: Int16Array, start: int, speaking: bool, ops: list[StreamOp]) -> None:
        if piece.size == 0:
            return
        if speaking:
            ops.append(UtteranceAudio(start, piece))
        else:
            ring = np.concatenate([self._ring, piece])
            self._ring = ring[max(0, ring.size - self._preroll_samples) :]
