"""Vosk (Kaldi) streaming recognition.

One `vosk.Model` per model directory, loaded once per process and shared by every stream.
Each stream uses one `KaldiRecognizer` at a time, only from the stream's own worker thread
(recognizers are not thread-safe and `AcceptWaveform` blocks), and a process-wide
semaphore keeps the number of recognizers decoding at once to the number of cores.

A new dictation recognizer spends ~0.9 CPU-s more on the first audio it decodes (measured
on the Korean model, alike for 0.5-3 s of noise), building its own cache of the
lookahead-composed graph; that used to land in every stream's first utterance. So each
engine keeps a few dictation recognizers that have paid it on noise, warmed in a
low-priority thread ahead of need. A recognizer serves one stream and is freed when the
stream closes: it is never handed to another stream. `FinalResult()` does renew Vosk's
decoder and feature pipeline (the i-vector adaptation to the speaker), but the graph cache
stays, and it is shaped by what the last person said: the search order follows it, and in
a long-running process recognizers with different caches were seen to differ in a
confidence, now and then in a word. No trace of one person's speech may reach another
person's stream, so only never-used recognizers are kept ready; noise leaves no such trace
(same words, times and confidences as a new recognizer, tested). Grammar recognizers are
not warmed: each builds its own small graph in ~50 ms and is fast at once.

The Silero VAD decides where utterances start and end: an utterance ends after
`VadSettings.end_silence_ms` of silence (sooner than the 0.5 s rule of Vosk's small
models), and audio between utterances is not decoded at all.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voice.audio import Pcm16, require_pcm
from voice.errors import EngineUnavailable, VoiceError
from voice.phrases import PhraseList, normalize_text
from voice.recognition import (
    EngineInfo,
    Final,
    NotUnderstood,
    Partial,
    RecognitionEvent,
    Word,
)
from voice.segmentation import SpeechTracker, UtteranceAudio, UtteranceEnd, UtteranceStart
from voice.vad import VadSettings

logger = logging.getLogger(__name__)

UNKNOWN_WORD = "[unk]"
DEFAULT_PARTIAL_INTERVAL_S = 0.15  # a partial after every 160 ms chunk
CALL_TIMEOUT_S = 30.0
# Under a grammar Vosk can only output listed words, so off-list speech comes out as a
# jumble of them ("꺼 아니요"); the Korean model has no "[unk]" word to absorb it. Only a
# near-exact hypothesis counts: a stray word more ("음소거 꺼") is NotUnderstood, and so
# is a repetition ("아니요 아니요"), which here is the grammar looping, not the speaker.
GRAMMAR_MATCH_THRESHOLD = 90.0
# Warm, never-used dictation recognizers an engine keeps ready (warming more in the
# background as streams take them). Memory is the price: ~20 MB of graph cache each.
WARM_RECOGNIZERS = 4
# Noise decoded to warm a recognizer (0.5, 1, 2 and 3 s measured alike).
WARM_UP_S = 1.0
WARM_UP_NICENESS = 10

_models: dict[Path, Any] = {}
_models_lock = threading.Lock()
# Bounds how many recognizers run Kaldi at once, whatever the number of streams.
_decode_slots = threading.BoundedSemaphore(os.cpu_count() or 1)


def load_vosk_model(path: str | Path) -> Any:
    """The process-wide `vosk.Model` for `path`, loading it on first use (blocking)."""
    key = Path(path).resolve()
    with _models_lock:
        model = _models.get(key)
        if model is not None:
            return model
        try:
            import vosk
        except ImportError as error:
            raise EngineUnavailable(f"the vosk package is not installed: {error}") from None
        # -1 still prints Kaldi warnings (one per unknown grammar word); -2 keeps errors only.
        vosk.SetLogLevel(-2)
        if not (key / "am").is_dir() or not (key / "conf").is_dir():
            raise EngineUnavailable(f"{key} is not a Vosk model directory (needs am/ and conf/)")
        try:
            model = vosk.Model(str(key))
        except Exception as error:
            raise EngineUnavailable(f"Vosk could not load the model at {key}: {error}") from None
        _models[key] = model
        return model


def release_vosk_model(path: str | Path) -> None:
    """Drop the cached model; memory is freed once no engine or stream holds it."""
    with _models_lock:
        _models.pop(Path(path).resolve(), None)


def vosk_model_sample_rate(path: str | Path) -> int:
    """The rate the model's features expect (`--sample-frequency` in conf/mfcc.conf)."""
    conf = Path(path) / "conf" / "mfcc.conf"
    try:
        text = conf.read_text(encoding="utf-8")
    except OSError:
        return 16_000
    found = re.search(r"^--sample-frequency=(\d+)", text, re.MULTILINE)
    return int(found.group(1)) if found else 16_000


class VoskEngine:
    """A loaded Vosk model; `stream()` makes recognizers that share it."""

    def __init__(
        self,
        path: str | Path,
        *,
        language: str,
        model_name: str | None = None,
        vad_settings: VadSettings | None = None,
        partial_interval_s: float = DEFAULT_PARTIAL_INTERVAL_S,
        max_streams: int = 64,
        warm_recognizers: int = WARM_RECOGNIZERS,
    ) -> None:
        self.path = Path(path).resolve()
        self.model = load_vosk_model(self.path)
        self._info = EngineInfo(
            engine="vosk",
            model=model_name or self.path.name,
            language=language,
            path=str(self.path),
            sample_rate=vosk_model_sample_rate(self.path),
        )
        self.vad_settings = vad_settings or VadSettings()
        self.partial_interval_s = partial_interval_s
        self.max_streams = max_streams
        self._streams: set[VoskRecognizer] = set()
        self._warm = _WarmRecognizers(self._new_dictation_recognizer, count=warm_recognizers)
        self._warm.refill()

    @property
    def info(self) -> EngineInfo:
        return self._info

    def stream(self, phrases: Sequence[str] | None = None) -> VoskRecognizer:
        """A new recognizer; with `phrases`, Vosk decodes with them as its grammar."""
        if len(self._streams) >= self.max_streams:
            raise VoiceError(f"this engine already serves {self.max_streams} streams")
        phrase_list = (
            PhraseList(phrases, threshold=GRAMMAR_MATCH_THRESHOLD, collapse_repeats=False)
            if phrases is not None
            else None
        )
        recognizer = VoskRecognizer(self, phrase_list)
        self._streams.add(recognizer)
        return recognizer

    def _forget(self, recognizer: VoskRecognizer) -> None:
        self._streams.discard(recognizer)

    @property
    def idle_recognizers(self) -> int:
        """Warm dictation recognizers waiting for a stream."""
        return self._warm.idle

    @property
    def warming(self) -> bool:
        """Whether recognizers are being warmed in the background right now."""
        return self._warm.warming

    def _new_dictation_recognizer(self) -> _Kaldi:
        import vosk

        rate = self._info.sample_rate
        return _Kaldi(vosk.KaldiRecognizer(self.model, rate), rate)

    def _new_grammar_recognizer(self, phrases: PhraseList) -> _Kaldi:
        import vosk

        rate = self._info.sample_rate
        grammar = json.dumps([*self.grammar_phrases(phrases), UNKNOWN_WORD], ensure_ascii=False)
        return _Kaldi(vosk.KaldiRecognizer(self.model, rate, grammar), rate)

    def _take_recognizer(self, phrases: PhraseList | None) -> _Kaldi:
        """A recognizer for a stream (called in the stream's worker thread)."""
        if phrases is not None:
            return self._new_grammar_recognizer(phrases)
        return self._warm.take() or self._new_dictation_recognizer()

    def grammar_phrases(self, phrases: PhraseList) -> list[str]:
        """The phrases as a Vosk grammar: normalized, in the model's spelling.

        Vosk silently drops grammar words missing from the vocabulary, which can make a
        phrase unrecognizable; say how many are affected (not which: no content in logs).
        """
        grammar = [normalize_text(phrase) for phrase in phrases.phrases]
        unknown = sum(
            1
            for phrase in grammar
            if any(self.model.vosk_model_find_word(word) < 0 for word in phrase.split())
        )
        if unknown:
            logger.warning("%d phrase(s) use words the Vosk model does not know", unknown)
        return grammar

    async def close(self) -> None:
        """Close remaining streams and release the model from the process-wide cache."""
        self._warm.close()
        for recognizer in list(self._streams):
            await recognizer.close()
        release_vosk_model(self.path)


class VoskRecognizer:
    """One Vosk stream. All recognizer work runs in this stream's own worker thread."""

    def __init__(self, engine: VoskEngine, phrases: PhraseList | None) -> None:
        self._engine = engine
        self.phrases = phrases
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="vosk-stream"
        )
        self._worker = _VoskWorker(engine, phrases)
        self._closed = False

    @property
    def sample_rate(self) -> int:
        return self._engine.info.sample_rate

    async def _call(self, function: Any, *args: Any) -> Any:
        if self._closed:
            raise VoiceError("recognizer is closed")
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, function, *args)
        try:
            return await asyncio.wait_for(future, CALL_TIMEOUT_S)
        except TimeoutError:
            raise EngineUnavailable(f"Vosk did not answer within {CALL_TIMEOUT_S:.0f} s") from None

    async def feed(self, pcm: bytes) -> list[RecognitionEvent]:
        """Accept a `Pcm16` chunk at `sample_rate`; return the events it produced."""
        checked = require_pcm(pcm, self.sample_rate)
        events: list[RecognitionEvent] = await self._call(self._worker.feed, checked)
        return events

    async def flush(self) -> list[RecognitionEvent]:
        """End of input: finalize the utterance in progress."""
        events: list[RecognitionEvent] = await self._call(self._worker.flush)
        return events

    async def reset(self) -> None:
        """Drop the utterance in progress; stream time keeps running."""
        await self._call(self._worker.reset)

    async def close(self) -> None:
        """Free the recognizer (in its own thread) and stop the thread."""
        if self._closed:
            return
        try:
            await self._call(self._worker.close)
        finally:
            self._closed = True
            self._executor.shutdown(wait=False)
            self._engine._forget(self)


class _VoskWorker:
    """The stream's state; every method runs in the stream's worker thread."""

    def __init__(self, engine: VoskEngine, phrases: PhraseList | None) -> None:
        self._engine = engine
        self._phrases = phrases
        self._rate = engine.info.sample_rate
        self._tracker = SpeechTracker(self._rate, engine.vad_settings)
        self._recognizer: _Kaldi | None = None  # taken in the worker thread on first use
        self._offset = 0  # stream samples minus the recognizer's clock (silence is skipped)
        self._onset: int | None = None
        self._heard_in_utterance = False
        self._since_partial = 0
        self._last_partial = ""

    def _kaldi(self) -> _Kaldi:
        if self._recognizer is None:
            self._recognizer = self._engine._take_recognizer(self._phrases)
        return self._recognizer

    def feed(self, pcm: Pcm16) -> list[RecognitionEvent]:
        events: list[RecognitionEvent] = []
        for op in self._tracker.push(pcm.samples()):
            if isinstance(op, UtteranceStart):
                # Vosk's word times count every sample the recognizer was fed: its warm-up
                # noise, and the silence between utterances this stream skips.
                self._offset = op.preroll_start - self._kaldi().samples
                self._onset = op.onset
                self._heard_in_utterance = False
                self._last_partial = ""
                self._since_partial = 0
                self._accept(op.preroll.tobytes(), events)
            elif isinstance(op, UtteranceAudio):
                self._accept(op.samples.tobytes(), events)
            elif isinstance(op, UtteranceEnd):
                self._end_utterance(op.speech_end, events)
        return events

    def _accept(self, data: bytes, events: list[RecognitionEvent]) -> None:
        if not data:
            return
        kaldi = self._kaldi()
        recognizer = kaldi.recognizer
        with _decode_slots:
            endpoint = kaldi.accept(data)
        self._since_partial += len(data) // 2
        if endpoint:
            with _decode_slots:
                result = recognizer.Result()
            self._finish(json.loads(result), events, closing=False)
        elif self._since_partial >= self._engine.partial_interval_s * self._rate:
            self._since_partial = 0
            with _decode_slots:
                partial = json.loads(recognizer.PartialResult())
            self._partial(str(partial.get("partial", "")), events)

    def _partial(self, raw: str, events: list[RecognitionEvent]) -> None:
        text = " ".join(word for word in raw.split() if word != UNKNOWN_WORD)
        if self._phrases is not None and text:
            match = self._phrases.match(text)
            text = match.phrase if match else ""
        if text and text != self._last_partial:
            self._last_partial = text
            events.append(Partial(text))

    def _end_utterance(self, speech_end: int, events: list[RecognitionEvent]) -> None:
        if self._recognizer is not None:
            with _decode_slots:
                result = self._recognizer.recognizer.FinalResult()
            self._finish(json.loads(result), events, closing=True, speech_end=speech_end)
        self._onset = None

    def _finish(
        self,
        result: dict[str, Any],
        events: list[RecognitionEvent],
        *,
        closing: bool,
        speech_end: int | None = None,
    ) -> None:
        """Turn a Vosk result into a Final / NotUnderstood (or nothing, for silence)."""
        self._last_partial = ""
        offset_s = self._offset / self._rate
        raw_words = [w for w in result.get("result", []) if isinstance(w, dict)]
        words = tuple(
            Word(
                text=str(w["word"]),
                start_s=round(float(w["start"]) + offset_s, 3),
                end_s=round(float(w["end"]) + offset_s, 3),
                confidence=float(w.get("conf", 1.0)),
            )
            for w in raw_words
            if w.get("word") != UNKNOWN_WORD
        )
        raw_text = str(result.get("text", "")).strip()
        text = " ".join(word.text for word in words) or " ".join(
            part for part in raw_text.split() if part != UNKNOWN_WORD
        )
        start_s, end_s = self._bounds(raw_words, offset_s, speech_end)
        if self._phrases is not None:
            match = self._phrases.match(text) if text else None
            if match is not None:
                self._heard_in_utterance = True
                events.append(Final(match.phrase, start_s, end_s, words, _mean_conf(words)))
            elif raw_text or (closing and not self._heard_in_utterance):
                # Speech the VAD heard but nothing on the list matched (or only [unk]).
                self._heard_in_utterance = True
                events.append(NotUnderstood(raw_text, start_s, end_s))
            return
        if text:
            self._heard_in_utterance = True
            events.append(Final(text, start_s, end_s, words, _mean_conf(words)))

    def _bounds(
        self, raw_words: list[dict[str, Any]], offset_s: float, speech_end: int | None
    ) -> tuple[float, float]:
        if raw_words:
            return (
                round(float(raw_words[0]["start"]) + offset_s, 3),
                round(float(raw_words[-1]["end"]) + offset_s, 3),
            )
        onset = self._onset if self._onset is not None else self._tracker.position
        end = speech_end if speech_end is not None else self._tracker.position
        return round(onset / self._rate, 3), round(max(end, onset) / self._rate, 3)

    def flush(self) -> list[RecognitionEvent]:
        events: list[RecognitionEvent] = []
        for op in self._tracker.finish():
            self._end_utterance(op.speech_end, events)
        return events

    def reset(self) -> None:
        self._tracker.reset()
        if self._recognizer is not None:
            with _decode_slots:
                self._recognizer.recognizer.Reset()
        self._onset = None
        self._last_partial = ""

    def close(self) -> None:
        # Freed here, in the thread that used it; never handed to another stream.
        self._recognizer = None


class _Kaldi:
    """A `KaldiRecognizer` with its clock: the samples it has been fed since it was made."""

    def __init__(self, recognizer: Any, rate: int) -> None:
        recognizer.SetWords(True)
        # Partial words make Kaldi align partials, which lags them by ~1.5 s on the Korean
        # model (first partial 2.4 s after onset instead of 0.9 s); `Partial` has no words.
        recognizer.SetPartialWords(False)
        self.recognizer = recognizer
        self.rate = rate
        self.samples = 0

    def accept(self, data: bytes) -> bool:
        endpoint = bool(self.recognizer.AcceptWaveform(data))
        self.samples += len(data) // 2
        return endpoint

    def warm_up(self) -> None:
        """Pay the first-decode cost now, on noise (no speech in it, so no words come out)."""
        noise = np.random.default_rng(0).normal(0.0, 1500.0, int(WARM_UP_S * self.rate))
        self.accept(noise.astype("<i2").tobytes())
        self.forget_input()

    def forget_input(self) -> None:
        """End whatever was fed: the next audio starts a new decoder and feature pipeline."""
        self.recognizer.FinalResult()


class _WarmRecognizers:
    """Warm, never-used dictation recognizers of one engine (thread-safe).

    Streams take them in their worker threads; a background thread at low priority keeps
    `count` of them ready. None ever comes back.
    """

    def __init__(self, make: Callable[[], _Kaldi], *, count: int) -> None:
        self._make = make
        self._count = count
        self._idle: list[_Kaldi] = []
        self._lock = threading.Lock()
        self._warming = False
        self._closed = False

    @property
    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def take(self) -> _Kaldi | None:
        with self._lock:
            kaldi = self._idle.pop() if self._idle else None
        self.refill()
        return kaldi

    def refill(self) -> None:
        """Start warming recognizers in the background if fewer than `count` are ready."""
        with self._lock:
            if self._warming or self._closed or len(self._idle) >= self._count:
                return
            self._warming = True
        threading.Thread(target=self._warm_until_full, name="vosk-warm-up", daemon=True).start()

    def _warm_until_full(self) -> None:
        _lower_thread_priority()
        while True:
            with self._lock:
                if self._closed or len(self._idle) >= self._count:
                    self._warming = False
                    return
            try:
                kaldi = self._make()
                kaldi.warm_up()
            except Exception:  # the next stream makes its own recognizer and says why
                logger.exception("could not warm a Vosk recognizer")
                with self._lock:
                    self._warming = False
                return
            with self._lock:
                if not self._closed:
                    self._idle.append(kaldi)

    @property
    def warming(self) -> bool:
        """Whether the background thread is still warming recognizers."""
        with self._lock:
            return self._warming

    def close(self) -> None:
        """Free the idle recognizers and stop warming more."""
        with self._lock:
            self._closed = True
            self._idle.clear()


def _mean_conf(words: tuple[Word, ...]) -> float:
    if not words:
        return 1.0
    return round(sum(word.confidence for word in words) / len(words), 3)


def _lower_thread_priority() -> None:
    """Let live streams' decoding come first: Linux takes a thread id as a "process" here."""
    # Other systems: warm at normal priority.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WARM_UP_NICENESS)
