"""The incoming half of the assistant peer: microphone frames -> recognizer -> events.

Two tasks, joined by a bounded backlog of converted chunks:
- the reader takes decoded frames off the WebRTC track as fast as they come (aiortc's own
  frame queue is unbounded, so it must never wait on recognition), converts them to the
  recognizer's rate (mono s16, `voice.audio`) and cuts them into chunks;
- the recognizer task feeds the chunks to the `StreamingRecognizer` (whose engines work off
  the event loop) and publishes its events.
When recognition falls behind, the OLDEST chunks are dropped: memory stays bounded, latency
recovers, and the drop is reported as an `AudioDropped` event before the next chunk is fed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from voice.audio import DEFAULT_CHUNK_MS, AudioConverter, Pcm16, convert_samples
from voice.errors import AudioFormatError, VoiceError
from voice.peer_events import AudioDropped, PeerEvent, Recognized
from voice.peer_tasks import TASK_PREFIX, cancel_and_wait, spawn
from voice.peer_timeline import AudioTimeline
from voice.phrases import PhraseList
from voice.recognition import RecognitionEvent, StreamingRecognizer

logger = logging.getLogger("voice.peer")

RecognizerFactory = Callable[[Sequence[str] | None], StreamingRecognizer]
"""Makes a recognizer for a phrase list (None: dictation); `SpeechEngine.stream` is one."""

RECOGNIZER_CALL_TIMEOUT_S = 120.0  # above the engines' own limits: a last resort
_IDLE_CHECK_S = 1.0


@dataclass(frozen=True, slots=True)
class _Chunk:
    pcm: Pcm16
    start_s: float  # on the participant's audio clock


class AudioPump:
    """Participant audio -> recognizer, through a backlog of at most `max_backlog_s`.

    `start()` makes the first recognizer (raising `VoiceError` if the engine refuses) and
    the recognition task; `attach(track)` starts reading a track, or call `push_frame`
    directly. `stop()` finishes the audio already queued (flushing the last utterance),
    `close()` drops it. Events go to `emit`, which must not block.
    """

    def __init__(
        self,
        factory: RecognizerFactory,
        *,
        emit: Callable[[PeerEvent], None],
        phrases: Sequence[str] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        max_backlog_s: float = 3.0,
        chunk_ms: int = DEFAULT_CHUNK_MS,
        stall_s: float = 0.5,
        stall_fill_s: float = 1.0,
        name: str = TASK_PREFIX,
    ) -> None:
        if not 100 <= chunk_ms <= 200:
            raise VoiceError(f"chunk_ms must be 100-200, got {chunk_ms}")
        if not (max_backlog_s > 0 and stall_s > 0 and stall_fill_s >= 0):
            raise VoiceError("max_backlog_s and stall_s must be positive, stall_fill_s >= 0")
        self._factory = factory
        self._emit = emit
        self._phrases = _checked_phrases(phrases)
        self._phrases_changed = False
        self._on_failure = on_failure
        self._chunk_ms = chunk_ms
        self._max_chunks = max(1, round(max_backlog_s * 1000 / chunk_ms))
        self._stall_s = stall_s
        self._stall_fill_s = stall_fill_s
        self._name = name
        self._recognizer: StreamingRecognizer | None = None
        self._timeline = AudioTimeline()
        self._backlog: deque[_Chunk] = deque()
        self._wakeup = asyncio.Event()
        self._converter: AudioConverter | None = None
        self._converter_key: tuple[int, int, str] | None = None
        self._produced_s = 0.0
        self._pending_drop_s = 0.0
        self._ended = False
        self._closed = False
        self._stalled = False
        self._bad_frames = 0
        self._task: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self.sample_rate = 0
        self.dropped_s = 0.0
        self.peak_backlog_chunks = 0

    # -- state -----------------------------------------------------------------------------

    @property
    def max_backlog_chunks(self) -> int:
        """The backlog bound, in chunks."""
        return self._max_chunks

    @property
    def backlog_chunks(self) -> int:
        """Chunks waiting for the recognizer now."""
        return len(self._backlog)

    @property
    def recognizing(self) -> bool:
        """Whether a recognition stream is open for this participant."""
        return self._recognizer is not None and not self._closed

    @property
    def received_s(self) -> float:
        """Seconds of participant audio converted so far (fed, queued or dropped)."""
        return self._produced_s

    @property
    def phrases(self) -> list[str] | None:
        return None if self._phrases is None else list(self._phrases)

    def tasks(self) -> list[asyncio.Task[None]]:
        return [task for task in (self._reader, self._task) if task is not None]

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Make the recognizer and start the recognition task (needs a running loop)."""
        if self._task is not None or self._closed:
            return
        self._recognizer = self._factory(self._phrases)
        self.sample_rate = self._recognizer.sample_rate
        self._task = spawn(
            self._recognize(), f"{self._name}-recognition", on_failure=self._on_failure
        )

    def attach(self, track: MediaStreamTrack) -> None:
        """Read `track` (an audio track) until it ends; only one track at a time."""
        if self._reader is not None and not self._reader.done():
            raise VoiceError("the pump already reads a track")
        self._reader = spawn(
            self._read(track), f"{self._name}-audio-in", on_failure=self._on_failure
        )

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        """Use `phrases` (None: dictation) from the next chunk on; drops the utterance in
        progress. Raises `VoiceError` for an invalid list."""
        self._phrases = _checked_phrases(phrases)
        self._phrases_changed = True

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop reading, let the recognizer finish the queued audio and its last utterance
        (within `timeout_s`), then close."""
        await cancel_and_wait(self._reader)
        self.end_of_audio()
        if self._task is not None and not self._task.done():
            await asyncio.wait({self._task}, timeout=timeout_s)
        await self.close()

    async def close(self) -> None:
        """Drop queued audio, stop both tasks and close the recognizer. Idempotent."""
        if self._closed:
            return
        self._closed = self._ended = True
        await cancel_and_wait(self._reader)
        await cancel_and_wait(self._task)
        self._backlog.clear()
        await self._close_recognizer()

    # -- audio in --------------------------------------------------------------------------

    def push_frame(self, frame: AudioFrame) -> None:
        """Convert one decoded frame and queue its complete chunks (never blocks)."""
        if self._ended or not self.sample_rate:
            return
        key = (frame.sample_rate, len(frame.layout.channels), frame.format.name)
        if self._converter is None or key != self._converter_key:
            self._flush_converter()
            self._converter = AudioConverter(
                input_rate=key[0],
                input_channels=key[1],
                output_rate=self.sample_rate,
                chunk_ms=self._chunk_ms,
            )
            self._converter_key = key
        for chunk in self._converter.convert(frame.to_ndarray()):
            self._enqueue(chunk)
        self._stalled = False

    def end_of_audio(self) -> None:
        """No more audio: queue what the converter holds; the recognizer flushes after it."""
        if self._ended:
            return
        self._flush_converter()
        self._ended = True
        self._wakeup.set()

    def _flush_converter(self) -> None:
        converter, self._converter = self._converter, None
        if converter is not None:
            for chunk in converter.flush():
                self._enqueue(chunk)

    def _fill_stall(self) -> None:
        """No frames for a while (track muted, network gone): feed a little silence so the
        VAD can end an utterance that was in progress, once per stall."""
        if self._stalled or not self.sample_rate or self._produced_s == 0:
            return
        self._stalled = True
        self._flush_converter()
        samples = round(self._stall_fill_s * self.sample_rate)
        per_chunk = self.sample_rate * self._chunk_ms // 1000
        for start in range(0, samples, per_chunk):
            self._enqueue(Pcm16(bytes(2 * min(per_chunk, samples - start)), self.sample_rate))

    def _enqueue(self, pcm: Pcm16) -> None:
        chunk = _Chunk(pcm, self._produced_s)
        self._produced_s += pcm.duration_s
        if self._ended:
            return
        while len(self._backlog) >= self._max_chunks:
            dropped = self._backlog.popleft().pcm.duration_s
            self._pending_drop_s += dropped
            self.dropped_s += dropped
        self._backlog.append(chunk)
        self.peak_backlog_chunks = max(self.peak_backlog_chunks, len(self._backlog))
        self._wakeup.set()

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                async with asyncio.timeout(self._stall_s):
                    frame = await track.recv()
            except TimeoutError:
                self._fill_stall()
                continue
            except MediaStreamError:  # the track ended: the participant stopped sending
                self.end_of_audio()
                return
            if not isinstance(frame, AudioFrame):
                continue
            try:
                self.push_frame(frame)
            except AudioFormatError:
                self._bad_frames += 1
                if self._bad_frames == 1:
                    logger.warning("dropping audio frames the converter cannot handle")

    # -- recognition -----------------------------------------------------------------------

    async def _recognize(self) -> None:
        while self._backlog or not self._ended:
            if not self._backlog:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), _IDLE_CHECK_S)
                continue
            self._report_drops()
            if self._phrases_changed:
                await self._switch_recognizer()
            recognizer = self._recognizer
            assert recognizer is not None  # made by start()
            chunk = self._backlog.popleft()
            self._timeline.fed(chunk.start_s, chunk.pcm.duration_s)
            async with asyncio.timeout(RECOGNIZER_CALL_TIMEOUT_S):
                events = await recognizer.feed(_at_rate(chunk.pcm, recognizer.sample_rate))
            self._publish(events)
        self._report_drops()
        if self._recognizer is not None:
            async with asyncio.timeout(RECOGNIZER_CALL_TIMEOUT_S):
                events = await self._recognizer.flush()
            self._publish(events)

    async def _switch_recognizer(self) -> None:
        self._phrases_changed = False
        await self._close_recognizer()
        self._recognizer = self._factory(self._phrases)
        self._timeline.restart()
        if self._recognizer.sample_rate != self.sample_rate:
            self._flush_converter()  # later frames convert straight to the new rate
            self.sample_rate = self._recognizer.sample_rate

    async def _close_recognizer(self) -> None:
        recognizer, self._recognizer = self._recognizer, None
        if recognizer is None:
            return
        try:
            async with asyncio.timeout(RECOGNIZER_CALL_TIMEOUT_S):
                await recognizer.close()
        except Exception as error:  # closing must go on; the cause is logged
            logger.warning("recognizer did not close cleanly: %s", type(error).__name__)

    def _report_drops(self) -> None:
        if self._pending_drop_s > 0:
            dropped, self._pending_drop_s = self._pending_drop_s, 0.0
            self._emit(AudioDropped(round(dropped, 3), round(self.dropped_s, 3)))

    def _publish(self, events: list[RecognitionEvent]) -> None:
        for event in events:
            self._emit(
                Recognized(self._timeline.retime(event), self._timeline.audio_s, time.time())
            )


def _checked_phrases(phrases: Sequence[str] | None) -> list[str] | None:
    if phrases is None:
        return None
    PhraseList(phrases)  # raises VoiceError for a bad list, here rather than in the task
    return list(phrases)


def _at_rate(pcm: Pcm16, rate: int) -> Pcm16:
    """Chunks queued before a recognizer switch may be at the old rate."""
    if pcm.sample_rate == rate:
        return pcm
    converted = convert_samples(
        [pcm], input_rate=pcm.sample_rate, input_channels=1, output_rate=rate, chunk_ms=1000
    )
    return Pcm16(b"".join(converted), rate)
