"""Speech synthesis: text to 16-bit mono PCM with pyttsx3 (espeak-ng), off the server process.

pyttsx3 is not thread-safe and its run loop can hang, so one worker process
(`voice/tts_worker.py`) does all synthesis. Requests go through a bounded queue to that
worker one at a time, each with a timeout; a worker that hangs is killed and replaced, one
that crashes or reports a failure is replaced and the request retried once. Common prompts
are served from an LRU cache. Audio comes back at the engine's native rate (22050 Hz for
espeak-ng); converting it for WebRTC is `voice.audio`'s job.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import shutil
import tempfile
import wave
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from voice.errors import SynthesisError
from voice.tts_process import (
    TtsWorkerProcess,
    VoiceInfo,
    WorkerCrashed,
    WorkerHung,
    WorkerRefused,
)
from voice.tts_request import (
    MAX_RATE_WPM,
    MIN_RATE_WPM,
    SpeechRequest,
    SynthesisRequestError,
    build_request,
    check_rate,
    resolve_voice,
)

__all__ = [
    "MAX_RATE_WPM",
    "MIN_RATE_WPM",
    "SpeechSynthesizer",
    "SynthesisBusy",
    "SynthesisRequestError",
    "SynthesizedSpeech",
    "VoiceInfo",
]

logger = logging.getLogger(__name__)


class SynthesisBusy(SynthesisError):
    """Too many requests are already waiting for the engine; try again later."""


@dataclass(frozen=True, slots=True)
class SynthesizedSpeech:
    """Synthesized audio: s16le mono PCM at `sample_rate` Hz."""

    pcm: bytes
    sample_rate: int
    duration_s: float


@dataclass(slots=True)
class _Job:
    request: SpeechRequest
    future: asyncio.Future[SynthesizedSpeech]
    timeout_s: float


class SpeechSynthesizer:
    """Text to speech through one pyttsx3 worker process; see the module docstring.

    Use `await start()` before `synthesize` and `await stop()` at shutdown (or `async with`).
    """

    def __init__(
        self,
        *,
        default_voice: str | None = None,
        default_rate_wpm: int = 175,
        timeout_s: float = 10.0,
        cache_size: int = 256,
        max_text_chars: int = 2000,
        max_pending: int = 32,
        startup_timeout_s: float = 20.0,
    ) -> None:
        check_rate(default_rate_wpm)
        if not (timeout_s > 0 and startup_timeout_s > 0):
            raise ValueError("timeouts must be positive")
        if cache_size < 0 or max_text_chars < 1 or max_pending < 1:
            raise ValueError("cache_size >= 0, max_text_chars >= 1 and max_pending >= 1")
        self._default_voice_request = default_voice
        self._default_rate_wpm = default_rate_wpm
        self._timeout_s = timeout_s
        self._startup_timeout_s = startup_timeout_s
        self._cache_size = cache_size
        self._max_text_chars = max_text_chars
        self._max_pending = max_pending
        self._cache: OrderedDict[SpeechRequest, SynthesizedSpeech] = OrderedDict()
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=max_pending)
        self._worker: TtsWorkerProcess | None = None
        self._voices: list[VoiceInfo] = []
        self._default_voice = ""
        self._serve_task: asyncio.Task[None] | None = None
        self._in_flight = False  # a request is inside the worker right now
        self._tmpdir: Path | None = None
        self._request_ids = itertools.count(1)

    async def __aenter__(self) -> SpeechSynthesizer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def worker_pid(self) -> int | None:
        """Process id of the current worker, or None while there is none (for monitoring)."""
        return self._worker.pid if self._worker is not None else None

    @property
    def default_voice(self) -> str:
        """The id of the voice used when a request names none (known after `start`)."""
        return self._default_voice

    async def start(self) -> None:
        """Start the worker process and the request loop; raises SynthesisError on failure."""
        if self._serve_task is not None:
            return
        self._tmpdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="telehealth-tts-"))
        try:
            self._worker = await TtsWorkerProcess.spawn(startup_timeout_s=self._startup_timeout_s)
            self._voices = list(self._worker.voices)
            requested = self._default_voice_request or self._worker.default_voice
            self._default_voice = resolve_voice(self._voices, requested).id
        except BaseException:
            await self._discard_worker(kill=True)
            await asyncio.to_thread(shutil.rmtree, self._tmpdir, True)
            self._tmpdir = None
            raise
        self._serve_task = asyncio.create_task(self._serve(), name="speech-synthesis")
        self._serve_task.add_done_callback(_log_unexpected_end)

    async def stop(self) -> None:
        """Fail waiting requests, stop the worker and remove temporary files."""
        task, self._serve_task = self._serve_task, None
        # A worker interrupted mid-request is in an unknown state: kill it, do not wait.
        interrupted = self._in_flight
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        stopped = SynthesisError("speech synthesis is shutting down")
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(stopped)
        await self._discard_worker(kill=interrupted)
        if self._tmpdir is not None:
            await asyncio.to_thread(shutil.rmtree, self._tmpdir, True)
            self._tmpdir = None

    def voices(self) -> list[VoiceInfo]:
        """The voices the engine offers (known after `start`)."""
        return list(self._voices)

    def resolve_voice(self, voice: str) -> VoiceInfo:
        """The voice `synthesize(voice=...)` would use; SynthesisRequestError if none matches.

        Accepts an id ("gmw/en-us"), its last part ("en-us"), a name ("English (America)")
        or a language tag, case-insensitively; useful to validate settings at startup.
        """
        return resolve_voice(self._voices, voice)

    async def synthesize(
        self,
        text: str,
        *,
        voice: str | None = None,
        rate_wpm: int | None = None,
        volume: float = 1.0,
        timeout_s: float | None = None,
    ) -> SynthesizedSpeech:
        """Speak `text` and return the PCM.

        `voice` is a voice id, name or language tag from `voices()` (default: the
        synthesizer's default voice); `rate_wpm` is 80-450 words per minute; `volume` 0.0-1.0;
        `timeout_s` overrides the per-request engine timeout. Raises SynthesisRequestError
        for bad input, SynthesisBusy when the queue is full, SynthesisError when the engine
        fails (a hung or crashed engine is replaced before the next request).
        """
        if self._serve_task is None:
            raise SynthesisError("speech synthesis is not running; call start() first")
        request = self._make_request(text, voice, rate_wpm, volume)
        cached = self._cache_get(request)
        if cached is not None:
            return cached
        job_timeout = self._timeout_s if timeout_s is None else timeout_s
        if not job_timeout > 0:
            raise SynthesisRequestError("timeout_s must be positive")
        future: asyncio.Future[SynthesizedSpeech] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Job(request, future, job_timeout))
        except asyncio.QueueFull:
            raise SynthesisBusy(
                f"{self._max_pending} speech requests are already waiting"
            ) from None
        # Each job ahead may need a worker restart plus its own timeout; past this, give up.
        wait_limit = (self._max_pending + 1) * (
            max(job_timeout, self._timeout_s) + self._startup_timeout_s
        )
        try:
            async with asyncio.timeout(wait_limit):
                return await future
        except TimeoutError:
            raise SynthesisError("speech synthesis queue did not move") from None

    def _make_request(
        self, text: str, voice: str | None, rate_wpm: int | None, volume: float
    ) -> SpeechRequest:
        return build_request(
            text,
            voice=resolve_voice(self._voices, self._default_voice if voice is None else voice),
            rate_wpm=self._default_rate_wpm if rate_wpm is None else rate_wpm,
            volume=volume,
            max_text_chars=self._max_text_chars,
        )

    def _cache_get(self, request: SpeechRequest) -> SynthesizedSpeech | None:
        speech = self._cache.get(request)
        if speech is not None:
            self._cache.move_to_end(request)
        return speech

    def _cache_put(self, request: SpeechRequest, speech: SynthesizedSpeech) -> None:
        if self._cache_size == 0:
            return
        self._cache[request] = speech
        self._cache.move_to_end(request)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def _serve(self) -> None:
        while True:
            job = await self._queue.get()
            if job.future.done():  # the caller gave up while it waited
                continue
            try:
                speech = self._cache_get(job.request) or await self._run(job)
            except asyncio.CancelledError:  # stop(): the caller must not wait forever
                if not job.future.done():
                    job.future.set_exception(SynthesisError("speech synthesis is shutting down"))
                raise
            except SynthesisError as exc:
                if not job.future.done():
                    job.future.set_exception(exc)
            except Exception:  # keep serving; the caller still gets a SynthesisError
                logger.exception("speech synthesis failed unexpectedly")
                if not job.future.done():
                    job.future.set_exception(SynthesisError("speech synthesis failed"))
            else:
                self._cache_put(job.request, speech)
                if not job.future.done():
                    job.future.set_result(speech)

    async def _run(self, job: _Job) -> SynthesizedSpeech:
        assert self._tmpdir is not None  # set by start()
        for attempt in (1, 2):
            worker = await self._ensure_worker()
            request_id = next(self._request_ids)
            path = self._tmpdir / f"{request_id}.wav"
            message = {
                "id": request_id,
                "text": job.request.text,
                "voice": job.request.voice,
                "rate": job.request.rate_wpm,
                "volume": job.request.volume,
                "path": str(path),
            }
            self._in_flight = True
            try:
                await worker.synthesize(message, timeout_s=job.timeout_s)
                return await asyncio.to_thread(_read_wav, path)
            except WorkerHung:
                # No retry: the same request would most likely hang again.
                logger.warning("speech synthesis worker (pid %d) hung; restarting it", worker.pid)
                await self._replace_worker()
                raise
            except (WorkerCrashed, WorkerRefused) as exc:
                # A fresh engine is cheap (~0.2 s) and rules out a worker left in a bad state.
                logger.warning(
                    "speech synthesis worker (pid %d) failed (%s); restarting it", worker.pid, exc
                )
                await self._replace_worker()
                if attempt == 2:
                    raise
            finally:
                self._in_flight = False
                await asyncio.to_thread(path.unlink, True)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _ensure_worker(self) -> TtsWorkerProcess:
        if self._worker is None:
            self._worker = await TtsWorkerProcess.spawn(startup_timeout_s=self._startup_timeout_s)
        return self._worker

    async def _replace_worker(self) -> None:
        await self._discard_worker(kill=True)
        try:
            await self._ensure_worker()
        except SynthesisError:  # the next request tries again
            logger.exception("speech synthesis worker could not be restarted")

    async def _discard_worker(self, *, kill: bool) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        if kill:
            await worker.kill()
        else:
            await worker.close()


def _read_wav(path: Path) -> SynthesizedSpeech:
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                raise SynthesisError("speech engine wrote audio in an unexpected format")
            rate = wav.getframerate()
            pcm = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise SynthesisError("speech engine wrote no readable audio") from exc
    if not pcm:
        raise SynthesisError("speech engine produced no audio")
    return SynthesizedSpeech(pcm=pcm, sample_rate=rate, duration_s=len(pcm) / 2 / rate)


def _log_unexpected_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("speech synthesis loop ended", exc_info=task.exception())
