"""Whisper (faster-whisper, CTranslate2 int8 on CPU) as a streaming recognizer.

Whisper does not stream, so each stream is cut into utterances by the Silero VAD:
- partials re-decode the growing utterance (greedy) at most every `partial_interval_s`,
  only when a decode worker is free (under load they are skipped);
- the final is decoded (beam search, word timestamps) when the utterance ends. To hide
  the decode behind the end-of-speech wait, a decode of the utterance so far starts as
  soon as `speculate_after_s` of silence has passed; if the silence lasts, that decode is
  the final, and if speech resumes it is dropped.
Decodes run in the engine's `DecodePool`, finals ahead of partials, never on the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voice.audio import require_pcm
from voice.decode_pool import DecodePool
from voice.errors import EngineUnavailable, VoiceError
from voice.phrases import PhraseList
from voice.recognition import EngineInfo, Final, NotUnderstood, Partial, RecognitionEvent, Word
from voice.segmentation import SpeechTracker, UtteranceAudio, UtteranceEnd, UtteranceStart
from voice.vad import VadSettings
from voice.whisper_decode import (
    WHISPER_SAMPLE_RATE,
    Decoded,
    WhisperDecoder,
    load_whisper_model,
    release_whisper_model,
)

FINAL_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class WhisperSettings:
    """Tuning of the Whisper stream; the defaults are what the benchmark measured."""

    final_beam_size: int = 5
    partial_interval_s: float = 0.7
    first_partial_after_s: float = 0.5
    speculate_after_s: float = 0.16
    tail_pad_s: float = 0.2
    vad: VadSettings = VadSettings()


def default_threading() -> tuple[int, int]:
    """(decode workers, threads per decode): one single-threaded decode per core, so a
    final never waits for a running partial on a two-core machine."""
    cores = os.cpu_count() or 1
    workers = max(1, min(cores, 4))
    return workers, max(1, cores // workers)


class WhisperEngine:
    """A loaded Whisper model and its decode pool, shared by every stream."""

    def __init__(
        self,
        path: str | Path,
        *,
        model_name: str = "whisper-tiny.en",
        language: str = "en",
        settings: WhisperSettings | None = None,
        workers: int | None = None,
        cpu_threads: int | None = None,
        max_streams: int = 32,
    ) -> None:
        default_workers, default_threads = default_threading()
        self.workers = workers or default_workers
        self.cpu_threads = cpu_threads or default_threads
        self.path = Path(path).resolve()
        self.decoder = WhisperDecoder(
            load_whisper_model(self.path, cpu_threads=self.cpu_threads, workers=self.workers)
        )
        self.settings = settings or WhisperSettings()
        self.pool = DecodePool(self.workers, name="whisper", max_pending=4 * max_streams)
        self.max_streams = max_streams
        self._info = EngineInfo(
            engine="whisper",
            model=model_name,
            language=language,
            path=str(self.path),
            sample_rate=WHISPER_SAMPLE_RATE,
        )
        self._streams: set[WhisperRecognizer] = set()
        self._closed = False

    @property
    def info(self) -> EngineInfo:
        return self._info

    def stream(self, phrases: Sequence[str] | None = None) -> WhisperRecognizer:
        """A new recognizer; with `phrases`, finals are mapped to the closest phrase."""
        if self._closed:
            raise VoiceError("engine is closed")
        if len(self._streams) >= self.max_streams:
            raise VoiceError(f"this engine already serves {self.max_streams} streams")
        recognizer = WhisperRecognizer(self, PhraseList(phrases) if phrases is not None else None)
        self._streams.add(recognizer)
        return recognizer

    def _forget(self, recognizer: WhisperRecognizer) -> None:
        self._streams.discard(recognizer)

    async def close(self) -> None:
        """Close remaining streams, stop the decode threads, release the model."""
        for recognizer in list(self._streams):
            await recognizer.close()
        self._closed = True
        await asyncio.to_thread(self.pool.shutdown)
        release_whisper_model(self.path)


@dataclass
class _Utterance:
    """The utterance in progress: its audio from `start` (a stream sample) on."""

    start: int
    onset: int
    chunks: list[npt.NDArray[np.int16]]
    partial_job: concurrent.futures.Future[Decoded] | None = None
    partial_started_at: float = 0.0
    partial_audio_at: int = 0
    last_partial: str = ""
    speculative: tuple[int, concurrent.futures.Future[Decoded]] | None = None

    def audio(self, until: int | None = None) -> npt.NDArray[np.float32]:
        joined = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)
        if until is not None:
            joined = joined[: max(0, until - self.start)]
        return joined.astype(np.float32) / 32768.0


class WhisperRecognizer:
    """One stream on a `WhisperEngine`. Calls are serialized by an internal lock."""

    def __init__(self, engine: WhisperEngine, phrases: PhraseList | None) -> None:
        self._engine = engine
        self._settings = engine.settings
        self.phrases = phrases
        # Listing the phrases in the prompt: espeak commands at 120-260 wpm decode to
        # exactly a listed phrase 18 of 21 times with it, 11 of 21 without.
        self._hint = ", ".join(phrases.phrases) + "." if phrases is not None else None
        self._tracker = SpeechTracker(WHISPER_SAMPLE_RATE, engine.settings.vad)
        self._utterance: _Utterance | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def sample_rate(self) -> int:
        return WHISPER_SAMPLE_RATE

    async def feed(self, pcm: bytes) -> list[RecognitionEvent]:
        """Accept a `Pcm16` chunk at 16 kHz; return the events it produced."""
        checked = require_pcm(pcm, WHISPER_SAMPLE_RATE)
        async with self._lock:
            self._check_open()
            # The VAD is ~1 ms per chunk, but it is still blocking work: off the loop.
            ops = await asyncio.to_thread(self._tracker.push, checked.samples())
            events: list[RecognitionEvent] = []
            for op in ops:
                if isinstance(op, UtteranceStart):
                    self._utterance = _Utterance(op.preroll_start, op.onset, [op.preroll])
                elif isinstance(op, UtteranceAudio) and self._utterance is not None:
                    self._utterance.chunks.append(op.samples)
                elif isinstance(op, UtteranceEnd):
                    events.extend(await self._finish(op.speech_end))
            if self._utterance is not None:
                self._collect_partial(events)
                self._speculate()
                self._start_partial()
            return events

    async def flush(self) -> list[RecognitionEvent]:
        """End of input: finalize the utterance in progress."""
        async with self._lock:
            self._check_open()
            events: list[RecognitionEvent] = []
            for op in self._tracker.finish():
                events.extend(await self._finish(op.speech_end))
            return events

    async def reset(self) -> None:
        """Drop the utterance in progress; stream time keeps running."""
        async with self._lock:
            self._drop_utterance()
            self._tracker.reset()

    async def close(self) -> None:
        """Drop pending work; the recognizer is unusable afterwards."""
        async with self._lock:
            self._drop_utterance()
            self._closed = True
            self._engine._forget(self)

    def _check_open(self) -> None:
        if self._closed:
            raise VoiceError("recognizer is closed")

    def _drop_utterance(self) -> None:
        if self._utterance is not None and self._utterance.speculative is not None:
            self._utterance.speculative[1].cancel()
        self._utterance = None

    def _seconds(self, sample: int) -> float:
        return round(sample / WHISPER_SAMPLE_RATE, 3)

    def _start_partial(self) -> None:
        utterance = self._utterance
        if utterance is None or utterance.partial_job is not None:
            return
        heard = self._tracker.position - utterance.onset
        since = self._tracker.position - utterance.partial_audio_at
        settings = self._settings
        if heard < settings.first_partial_after_s * WHISPER_SAMPLE_RATE:
            return
        if utterance.partial_audio_at and (
            since < settings.partial_interval_s * WHISPER_SAMPLE_RATE
            or time.monotonic() - utterance.partial_started_at < settings.partial_interval_s
        ):
            return
        if self._tracker.trailing_silence_s > 0:
            return  # the speculative final covers this audio
        audio = utterance.audio()
        hint = self._hint
        job = self._engine.pool.try_submit(lambda: self._engine.decoder.decode(audio, hint=hint))
        if job is not None:
            utterance.partial_job = job
            utterance.partial_started_at = time.monotonic()
            utterance.partial_audio_at = self._tracker.position

    def _collect_partial(self, events: list[RecognitionEvent]) -> None:
        utterance = self._utterance
        if utterance is None or utterance.partial_job is None or not utterance.partial_job.done():
            return
        job, utterance.partial_job = utterance.partial_job, None
        if job.exception() is not None:
            return  # a lost partial is harmless; the final will report a real failure
        text = job.result().text
        if self.phrases is not None and text:
            match = self.phrases.match(text)
            text = match.phrase if match else ""
        if text and text != utterance.last_partial:
            utterance.last_partial = text
            events.append(Partial(text))

    def _speculate(self) -> None:
        utterance = self._utterance
        if utterance is None:
            return
        silence = self._tracker.trailing_silence_s
        if silence == 0 and utterance.speculative is not None:
            utterance.speculative[1].cancel()  # speech resumed: that was not the end
            utterance.speculative = None
        if silence < self._settings.speculate_after_s or utterance.speculative is not None:
            return
        speech_end = self._tracker.silence_start
        utterance.speculative = (speech_end, self._submit_final(utterance, speech_end))

    def _submit_final(
        self, utterance: _Utterance, speech_end: int
    ) -> concurrent.futures.Future[Decoded]:
        until = speech_end + round(self._settings.tail_pad_s * WHISPER_SAMPLE_RATE)
        audio = utterance.audio(until)
        beam, hint = self._settings.final_beam_size, self._hint
        return self._engine.pool.submit(
            lambda: self._engine.decoder.decode(audio, beam_size=beam, words=True, hint=hint)
        )

    async def _finish(self, speech_end: int) -> list[RecognitionEvent]:
        utterance, self._utterance = self._utterance, None
        if utterance is None:
            return []
        job: concurrent.futures.Future[Decoded] | None = None
        if utterance.speculative is not None:
            speculated_end, speculated = utterance.speculative
            if speculated_end == speech_end:
                job = speculated
            else:
                speculated.cancel()
        if job is None:
            job = self._submit_final(utterance, speech_end)
        try:
            decoded = await asyncio.wait_for(asyncio.wrap_future(job), FINAL_TIMEOUT_S)
        except TimeoutError:
            raise EngineUnavailable(
                f"Whisper did not decode within {FINAL_TIMEOUT_S:.0f} s"
            ) from None
        return self._final_events(decoded, utterance, speech_end)

    def _final_events(
        self, decoded: Decoded, utterance: _Utterance, speech_end: int
    ) -> list[RecognitionEvent]:
        offset = utterance.start / WHISPER_SAMPLE_RATE
        limit = speech_end / WHISPER_SAMPLE_RATE + self._settings.tail_pad_s
        words = tuple(
            Word(
                text=word.text,
                start_s=round(min(word.start_s + offset, limit), 3),
                end_s=round(min(word.end_s + offset, limit), 3),
                confidence=round(word.probability, 3),
            )
            for word in decoded.words
        )
        start_s = words[0].start_s if words else self._seconds(utterance.onset)
        end_s = words[-1].end_s if words else self._seconds(speech_end)
        confidence = (
            round(sum(w.confidence for w in words) / len(words), 3)
            if words
            else round(float(np.exp(decoded.avg_logprob)), 3)
        )
        if self.phrases is None:
            return [Final(decoded.text, start_s, end_s, words, confidence)] if decoded.text else []
        match = self.phrases.match(decoded.text) if decoded.text else None
        if match is None:
            return [NotUnderstood(decoded.text, start_s, end_s)]
        return [Final(match.phrase, start_s, end_s, words, confidence)]
