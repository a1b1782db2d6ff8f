"""Vosk (Kaldi) streaming recognition.

One `vosk.Model` per model directory, loaded once per process and shared by every stream.
Each stream owns one `KaldiRecognizer` that lives in the stream's own worker thread
(recognizers are not thread-safe and `AcceptWaveform` blocks), and a process-wide
semaphore keeps the number of recognizers decoding at once to the number of cores.

The Silero VAD decides where utterances start and end: an utterance ends after
`VadSettings.end_silence_ms` of silence (sooner than the 0.5 s rule of Vosk's small
models), and audio between utterances is not decoded at all.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
        self._recognizer: Any = None  # created in the worker thread on first use
        self._offset = 0  # stream samples minus samples Vosk has seen (silence is skipped)
        self._vosk_samples = 0
        self._onset: int | None = None
        self._heard_in_utterance = False
        self._since_partial = 0
        self._last_partial = ""

    def _kaldi(self) -> Any:
        if self._recognizer is None:
            import vosk

            model = self._engine.model
            if self._phrases is None:
                recognizer = vosk.KaldiRecognizer(model, self._rate)
            else:
                grammar = [*self._engine.grammar_phrases(self._phrases), UNKNOWN_WORD]
                recognizer = vosk.KaldiRecognizer(
                    model, self._rate, json.dumps(grammar, ensure_ascii=False)
                )
            recognizer.SetWords(True)
            # Partial words make Kaldi align partials, which lags them by ~1.5 s on the Korean
            # model (first partial 2.4 s after onset instead of 0.9 s); `Partial` has no words.
            recognizer.SetPartialWords(False)
            self._recognizer = recognizer
        return self._recognizer

    def feed(self, pcm: Pcm16) -> list[RecognitionEvent]:
        events: list[RecognitionEvent] = []
        for op in self._tracker.push(pcm.samples()):
            if isinstance(op, UtteranceStart):
                self._offset = op.preroll_start - self._vosk_samples
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
        recognizer = self._kaldi()
        with _decode_slots:
            endpoint = recognizer.AcceptWaveform(data)
        self._vosk_samples += len(data) // 2
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
                result = self._recognizer.FinalResult()
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
                self._recognizer.Reset()
        self._onset = None
        self._last_partial = ""

    def close(self) -> None:
        self._recognizer = None  # KaldiRecognizer frees itself; dropped in its own thread


def _mean_conf(words: tuple[Word, ...]) -> float:
    if not words:
        return 1.0
    return round(sum(word.confidence for word in words) / len(words), 3)
