"""One Whisper decode of one utterance, with faster-whisper's model parts.

faster-whisper's `transcribe()` pads every window to 30 s before the encoder. For the
short utterances the VAD cuts (a few seconds), encoding only the utterance plus one second
gives the same words on the LibriVox test clips (WER 5.6% with beam 5, 8.5% greedy, either
way) at about a fifth of the encoder time, which is what makes partials affordable. This
module does that: log-mel features -> encoder on the trimmed window -> greedy or beam
search -> optional word alignment (faster-whisper's own `find_alignment`).
"""

from __future__ import annotations

import math
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
import numpy.typing as npt
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import merge_punctuations

from voice.errors import EngineUnavailable

WHISPER_SAMPLE_RATE = 16_000
_FRAMES_PER_SECOND = 100
_MAX_FRAMES = 3000  # the 30 s the model was trained on
_PAD_FRAMES = 100  # one second of context after the utterance
# Windows much shorter than 30 s make Whisper repeat itself on short utterances ("repeat
# repeat repeat"); ten seconds does not, and costs a third of the full window.
_MIN_WINDOW_FRAMES = 1000
_MAX_PROMPT_TOKENS = 100
_MAX_TOKENS = 224
# Whisper's own test for "this window was silence" (no_speech_prob and a low logprob).
_NO_SPEECH_PROB = 0.6
_LOW_LOGPROB = -1.0
# Whisper's own threshold for "this output is a repetition loop".
_MAX_COMPRESSION_RATIO = 2.4
# faster-whisper's defaults: punctuation is glued to the word before or after it.
_PREPEND_PUNCTUATION = "\"'“¿([{-"
_APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"

_models: dict[tuple[Path, int, int], Any] = {}
_models_lock = threading.Lock()


def load_whisper_model(path: str | Path, *, cpu_threads: int, workers: int) -> Any:
    """The process-wide faster-whisper `WhisperModel` for `path` (blocking on first use)."""
    key = (Path(path).resolve(), cpu_threads, workers)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            if not (key[0] / "model.bin").is_file():
                raise EngineUnavailable(f"{key[0]} is not a CTranslate2 Whisper model directory")
            try:
                model = WhisperModel(
                    str(key[0]),
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=cpu_threads,
                    num_workers=workers,
                )
            except Exception as error:
                raise EngineUnavailable(
                    f"could not load Whisper model at {key[0]}: {error}"
                ) from None
            _models[key] = model
        return model


def release_whisper_model(path: str | Path) -> None:
    """Drop cached models for `path`; memory is freed once no engine holds them."""
    resolved = Path(path).resolve()
    with _models_lock:
        for key in [key for key in _models if key[0] == resolved]:
            del _models[key]


@dataclass(frozen=True, slots=True)
class DecodedWord:
    """A word with times in seconds from the start of the decoded audio."""

    text: str
    start_s: float
    end_s: float
    probability: float


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one decode heard; `text` is empty when the window held no speech."""

    text: str
    words: tuple[DecodedWord, ...]
    avg_logprob: float


class WhisperDecoder:
    """Decodes utterances with a shared `WhisperModel`; thread-safe (CTranslate2 queues calls)."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._ctranslate2 = model.model
        self._tokenizer = Tokenizer(
            model.hf_tokenizer,
            model.model.is_multilingual,
            task="transcribe",
            language="en" if not model.model.is_multilingual else None,
        )

    def prompt_tokens(self, hint: str | None) -> list[int]:
        """The decoder prompt; a `hint` (e.g. the phrase list) goes in as previous text,
        which biases Whisper towards those words."""
        prompt = [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]
        if not hint:
            return prompt
        hint_tokens = self._tokenizer.encode(" " + hint.strip())[-_MAX_PROMPT_TOKENS:]
        return [self._tokenizer.sot_prev, *hint_tokens, *prompt]

    def decode(
        self,
        audio: npt.NDArray[np.float32],
        *,
        beam_size: int = 1,
        words: bool = False,
        hint: str | None = None,
    ) -> Decoded:
        """Decode 16 kHz mono float audio (at most 30 s; longer is cut)."""
        prompt = self.prompt_tokens(hint)
        features = self._model.feature_extractor(audio)
        frames = min(int(features.shape[-1]), _MAX_FRAMES)
        if frames == 0:
            return Decoded("", (), 0.0)
        window = min(
            _MAX_FRAMES, max(_MIN_WINDOW_FRAMES, math.ceil((frames + _PAD_FRAMES) / 100) * 100)
        )
        padded = np.zeros((1, features.shape[0], window), dtype=np.float32)
        padded[0, :, :frames] = features[:, :frames]
        encoded = self._ctranslate2.encode(ctranslate2.StorageView.from_array(padded))
        # Nobody says more than ~7 tokens a second: a longer output is a repetition loop.
        max_length = min(_MAX_TOKENS, 10 + math.ceil(frames / _FRAMES_PER_SECOND * 8))
        result = self._generate(encoded, prompt, beam_size, max_length, no_repeat_ngram_size=0)
        tokens, text = self._text(result)
        if _compression_ratio(text) > _MAX_COMPRESSION_RATIO:
            result = self._generate(encoded, prompt, beam_size, max_length, no_repeat_ngram_size=3)
            tokens, text = self._text(result)
        avg_logprob = float(result.scores[0]) if result.scores else 0.0
        if not tokens or (result.no_speech_prob > _NO_SPEECH_PROB and avg_logprob < _LOW_LOGPROB):
            return Decoded("", (), avg_logprob)
        aligned = self._align(tokens, encoded, frames) if words else ()
        return Decoded(text, aligned, avg_logprob)

    def _generate(
        self,
        encoded: Any,
        prompt: list[int],
        beam_size: int,
        max_length: int,
        *,
        no_repeat_ngram_size: int,
    ) -> Any:
        return self._ctranslate2.generate(
            encoded,
            [prompt],
            beam_size=beam_size,
            max_length=len(prompt) + max_length,  # CTranslate2 counts the prompt too
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=[-1],
            no_repeat_ngram_size=no_repeat_ngram_size,
        )[0]

    def _text(self, result: Any) -> tuple[list[int], str]:
        tokens = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
        return tokens, str(self._tokenizer.decode(tokens)).strip()

    def _align(self, tokens: list[int], encoded: Any, frames: int) -> tuple[DecodedWord, ...]:
        alignment = self._model.find_alignment(self._tokenizer, [tokens], encoded, frames)
        if not alignment:
            return ()
        merge_punctuations(alignment[0], _PREPEND_PUNCTUATION, _APPEND_PUNCTUATION)
        return tuple(
            DecodedWord(
                text=str(item["word"]).strip(),
                start_s=float(item["start"]),
                end_s=float(item["end"]),
                probability=float(item["probability"]),
            )
            for item in alignment[0]
            if str(item["word"]).strip()
        )


def _compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0
