"""The outgoing half of the assistant peer: a WebRTC audio track that speaks prompts.

`SpeechTrack` is an aiortc `MediaStreamTrack` of kind "audio": 20 ms frames of 48 kHz mono
s16 with continuous pts, paced in real time, silence when there is nothing to say. Prompts
are reserved in the order `say` is called and play in that order once synthesized, so a
slow synthesis never lets a later prompt jump ahead; an interrupting prompt cuts the one
playing and discards those waiting.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from voice.audio import AudioConverter
from voice.peer_events import AssistantPeerError, PeerEvent, SpeechFinished, SpeechStarted

WEBRTC_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz: what Opus packs per packet
TIME_BASE = fractions.Fraction(1, WEBRTC_RATE)
# If the loop stalled longer than this, re-anchor the clock instead of bursting frames.
_MAX_LATE_S = 0.2
_SILENCE = bytes(2 * FRAME_SAMPLES)

Int16Array = npt.NDArray[np.int16]


def to_webrtc_audio(pcm: bytes, sample_rate: int) -> Int16Array:
    """s16le mono PCM at any rate -> 48 kHz mono int16 samples (blocking: run in a thread)."""
    converter = AudioConverter(
        input_rate=sample_rate, input_channels=1, output_rate=WEBRTC_RATE, chunk_ms=1000
    )
    chunks = [*converter.convert(pcm), *converter.flush()]
    if not chunks:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate([chunk.samples() for chunk in chunks]).astype(np.int16)


class Prompt:
    """One queued prompt: reserved by `SpeechTrack.reserve`, given audio by `fill`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: Int16Array | None = None  # None until synthesized
        self.position = 0
        self.started = False
        self.discarded = False

    @property
    def duration_s(self) -> float:
        return 0.0 if self.samples is None else self.samples.size / WEBRTC_RATE


class SpeechTrack(MediaStreamTrack):
    """Outgoing audio track playing queued prompts (see the module docstring).

    `on_event` gets `SpeechStarted` when a prompt's first frame goes out and `SpeechFinished`
    after its last (or when it is cut); it is called from `recv` and must not block.
    """

    kind = "audio"

    def __init__(
        self,
        *,
        on_event: Callable[[PeerEvent], None] | None = None,
        max_prompts: int = 8,
    ) -> None:
        super().__init__()
        if max_prompts < 1:
            raise ValueError("max_prompts must be at least 1")
        self._on_event = on_event
        self._max_prompts = max_prompts
        self._prompts: deque[Prompt] = deque()
        self._start: float | None = None
        self._pts = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def is_speaking(self) -> bool:
        """True from `reserve` until every queued prompt has played (or was cut)."""
        return bool(self._prompts)

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is queued or playing; False if `timeout_s` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def reserve(self, text: str, *, interrupt: bool) -> Prompt:
        """Take a place in the queue for `text` (audio comes later with `fill`).

        With `interrupt`, the prompt playing is cut and the waiting ones are discarded now,
        so the participant stops hearing stale speech even while the new one synthesizes.
        Raises `AssistantPeerError` when `max_prompts` are already queued.
        """
        if self.readyState != "live":
            raise AssistantPeerError("the speech track has ended")
        if interrupt:
            self.stop_speaking()
        elif len(self._prompts) >= self._max_prompts:
            raise AssistantPeerError(f"{self._max_prompts} prompts are already queued")
        prompt = Prompt(text)
        self._prompts.append(prompt)
        self._idle.clear()
        return prompt

    def fill(self, prompt: Prompt, samples: Int16Array) -> float:
        """Give a reserved prompt its 48 kHz audio; returns its duration, or 0.0 when it was
        discarded meanwhile (interrupted before it could play)."""
        if prompt.discarded:
            return 0.0
        prompt.samples = samples
        if samples.size == 0:
            self.discard(prompt)
            return 0.0
        return prompt.duration_s

    def discard(self, prompt: Prompt) -> None:
        """Drop a prompt (e.g. its synthesis failed); cuts it if it was playing."""
        if prompt.discarded:
            return
        prompt.discarded = True
        if prompt in self._prompts:
            self._prompts.remove(prompt)
        if prompt.started:
            self._notify(SpeechFinished(prompt.text, interrupted=True))
        if not self._prompts:
            self._idle.set()

    def stop_speaking(self) -> None:
        """Cut the prompt playing and discard the queued ones."""
        for prompt in list(self._prompts):
            self.discard(prompt)

    def stop(self) -> None:
        self.stop_speaking()
        super().stop()

    async def recv(self) -> AudioFrame:
        """The next 20 ms frame, at its real-time due moment."""
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            self._pts += FRAME_SAMPLES
            due = self._start + self._pts / WEBRTC_RATE
            if due - now < -_MAX_LATE_S:
                self._start = now - self._pts / WEBRTC_RATE  # we fell behind: re-anchor
            elif due > now:
                await asyncio.sleep(due - now)
        if self.readyState != "live":
            raise MediaStreamError
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(self._next_samples())
        frame.pts = self._pts
        frame.sample_rate = WEBRTC_RATE
        frame.time_base = TIME_BASE
        return frame

    def _next_samples(self) -> bytes:
        prompt = self._prompts[0] if self._prompts else None
        if prompt is None or prompt.samples is None:
            return _SILENCE  # idle, or the next prompt is still being synthesized
        if not prompt.started:
            prompt.started = True
            self._notify(SpeechStarted(prompt.text))
        piece = prompt.samples[prompt.position : prompt.position + FRAME_SAMPLES]
        prompt.position += piece.size
        data = piece.astype("<i2").tobytes()
        if prompt.position >= prompt.samples.size:
            self._prompts.popleft()
            prompt.discarded = True  # played out; a late discard() must not report a cut
            self._notify(SpeechFinished(prompt.text, interrupted=False))
            if not self._prompts:
                self._idle.set()
        return data + bytes(len(_SILENCE) - len(data))

    def _notify(self, event: PeerEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)
