"""Voice activity detection: Silero VAD (bundled with faster-whisper) run as a stream.

`SileroVad` turns 16 kHz audio into one speech probability per 32 ms window, keeping the
model's recurrent state between calls; `UtteranceSegmenter` turns probabilities into
utterance starts and ends. Both engines use them: Whisper to cut utterances, Vosk to end
utterances sooner than its model's 0.5 s endpoint rule and to skip long silences.
"""

from __future__ import annotations

import functools
import importlib
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from voice.errors import EngineUnavailable

VAD_SAMPLE_RATE = 16_000
WINDOW_SAMPLES = 512  # 32 ms: the window the Silero model was trained on at 16 kHz
_CONTEXT_SAMPLES = 64  # the model sees each window with the 64 samples before it
_STATE_SHAPE = (1, 1, 128)


@functools.cache
def _silero_session() -> Any:
    """One ONNX session for the whole process; `run` is thread-safe, state lives per stream."""
    try:
        # onnxruntime ships no type information; import it as a plain module.
        onnxruntime = importlib.import_module("onnxruntime")
        from faster_whisper.utils import get_assets_path
    except ImportError as error:  # pragma: no cover - both ship with faster-whisper
        raise EngineUnavailable(
            f"Silero VAD needs faster-whisper and onnxruntime: {error}"
        ) from None
    options = onnxruntime.SessionOptions()
    # Many streams share two cores: one thread per call, parallelism comes from streams.
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 4
    path = os.path.join(get_assets_path(), "silero_vad_v6.onnx")
    return onnxruntime.InferenceSession(
        path, providers=["CPUExecutionProvider"], sess_options=options
    )


class SileroVad:
    """Streaming speech probabilities for one 16 kHz mono stream (not thread-safe)."""

    def __init__(self) -> None:
        self._session = _silero_session()
        self.reset()

    def reset(self) -> None:
        """Forget the stream so far (state, context and any partial window)."""
        self._h = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(_CONTEXT_SAMPLES, dtype=np.float32)
        self._remainder = np.zeros(0, dtype=np.float32)

    def process(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Accept float samples in [-1, 1]; return the probabilities of each completed window."""
        audio = np.concatenate([self._remainder, samples.astype(np.float32, copy=False)])
        count = audio.size // WINDOW_SAMPLES
        self._remainder = audio[count * WINDOW_SAMPLES :]
        if count == 0:
            return np.zeros(0, dtype=np.float32)
        windows = audio[: count * WINDOW_SAMPLES].reshape(count, WINDOW_SAMPLES)
        contexts = np.vstack([self._context[None, :], windows[:-1, -_CONTEXT_SAMPLES:]])
        batch = np.concatenate([contexts, windows], axis=1)
        # The model's batch axis is time: the LSTM state runs through the windows in order.
        probs, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        self._context = windows[-1, -_CONTEXT_SAMPLES:].copy()
        result: npt.NDArray[np.float32] = np.asarray(probs, dtype=np.float32).reshape(-1)
        return result


@dataclass(frozen=True, slots=True)
class VadSettings:
    """When speech starts and ends. Times in milliseconds.

    `end_silence_ms` is the latency lever: an utterance ends that long after the last
    speech window, so finals can never come sooner than that.
    """

    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_speech_ms: int = 64
    end_silence_ms: int = 352
    preroll_ms: int = 320
    max_utterance_s: float = 25.0


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Speech began at `sample` (the first speech window); decided at `decided_at`."""

    sample: int
    decided_at: int


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    """The utterance ended: speech stopped at `sample`; decided at `decided_at`."""

    sample: int
    decided_at: int


SegmentEvent = SpeechStarted | SpeechEnded


class UtteranceSegmenter:
    """Pure state machine: window probabilities in, utterance boundaries out.

    Sample positions count from the start of the stream (in VAD samples, 16 kHz).
    Hysteresis: speech needs `threshold` for `min_speech_ms`; once in speech, only windows
    under `neg_threshold` count as silence, and `end_silence_ms` of it ends the utterance.
    """

    def __init__(self, settings: VadSettings | None = None) -> None:
        self.settings = settings or VadSettings()
        window_ms = WINDOW_SAMPLES * 1000 / VAD_SAMPLE_RATE
        self._min_speech_windows = max(1, round(self.settings.min_speech_ms / window_ms))
        self._end_silence_windows = max(1, round(self.settings.end_silence_ms / window_ms))
        self._max_windows = int(self.settings.max_utterance_s * 1000 / window_ms)
        self.position = 0  # samples seen
        self.in_speech = False
        self.utterance_start = 0
        self._onset_run = 0
        self._silence_run = 0
        self._utterance_windows = 0

    @property
    def trailing_silence_samples(self) -> int:
        """How long the current utterance has been silent (0 outside speech)."""
        return self._silence_run * WINDOW_SAMPLES if self.in_speech else 0

    def push(self, probabilities: npt.NDArray[np.float32]) -> list[SegmentEvent]:
        """Advance by one window per probability; return the boundaries crossed."""
        events: list[SegmentEvent] = []
        for probability in probabilities.tolist():
            self.position += WINDOW_SAMPLES
            if not self.in_speech:
                self._onset_run = (
                    self._onset_run + 1 if probability >= self.settings.threshold else 0
                )
                if self._onset_run >= self._min_speech_windows:
                    self.in_speech = True
                    self.utterance_start = self.position - self._onset_run * WINDOW_SAMPLES
                    self._utterance_windows = self._onset_run
                    self._silence_run = 0
                    self._onset_run = 0
                    events.append(SpeechStarted(self.utterance_start, self.position))
                continue
            self._utterance_windows += 1
            if probability >= self.settings.threshold:
                self._silence_run = 0
            elif probability < self.settings.neg_threshold or self._silence_run:
                # Between the thresholds: silence keeps counting once it has begun.
                self._silence_run += 1
            ended = self._silence_run >= self._end_silence_windows
            if ended or self._utterance_windows >= self._max_windows:
                speech_end = self.position - self._silence_run * WINDOW_SAMPLES
                events.append(SpeechEnded(speech_end, self.position))
                self.in_speech = False
                self._silence_run = 0
        return events

    def end_of_stream(self) -> list[SegmentEvent]:
        """Close an utterance still open when the input ends."""
        if not self.in_speech:
            return []
        self.in_speech = False
        end = self.position - self._silence_run * WINDOW_SAMPLES
        self._silence_run = 0
        return [SpeechEnded(end, self.position)]

    def reset(self) -> None:
        """Drop the utterance in progress; the stream position keeps running."""
        self.in_speech = False
        self._onset_run = 0
        self._silence_run = 0
