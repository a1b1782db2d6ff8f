"""Real audio for the recognition tests: LibriVox clips, espeak-ng speech, chunked PCM."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from pathlib import Path

import numpy as np
from rapidfuzz.distance import Levenshtein

from voice.audio import DEFAULT_CHUNK_MS, AudioConverter, Pcm16, read_wav
from voice.recognition import RecognitionEvent, StreamingRecognizer

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


def librivox_clips() -> dict[Path, str]:
    """Each LibriVox clip with its reference transcription."""
    clips: dict[Path, str] = {}
    for line in (LIBRIVOX / "transcription").read_text(encoding="utf-8").splitlines():
        found = re.match(r"<s> (.*) </s> \((.*)\)", line.strip())
        if found:
            clips[LIBRIVOX / f"{found.group(2)}.wav"] = found.group(1)
    return clips


def normalize_words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower().replace("-", " ")).split()


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference word count)."""
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    return Levenshtein.distance(ref, hyp), len(ref)


def espeak(text: str, path: Path, *, voice: str = "en-us", wpm: int = 175) -> Path:
    """Synthesize `text` with espeak-ng into a WAV (22050 Hz mono s16)."""
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(path), text],
        check=True,
        timeout=30,
    )
    return path


def speech_chunks(
    paths: list[Path],
    rate: int,
    *,
    gap_s: float = 1.0,
    chunk_ms: int = DEFAULT_CHUNK_MS,
) -> tuple[list[Pcm16], list[tuple[float, float]]]:
    """WAVs joined with `gap_s` of silence before, between and after them, converted to
    `rate` and cut into chunks. Also returns each clip's (start, end) in stream seconds."""
    pieces: list[np.ndarray] = []
    spans: list[tuple[float, float]] = []
    position = 0.0
    for path in paths:
        wav = read_wav(path)
        converter = wav.converter(rate, chunk_ms)
        samples = np.concatenate(
            [c.samples() for c in [*converter.convert(wav.data), *converter.flush()]]
        )
        silence = np.zeros(int(gap_s * rate), dtype=np.int16)
        pieces += [silence, samples]
        position += gap_s
        spans.append((position, position + samples.size / rate))
        position += samples.size / rate
    pieces.append(np.zeros(int(gap_s * rate), dtype=np.int16))
    converter = AudioConverter(
        input_rate=rate, input_channels=1, output_rate=rate, chunk_ms=chunk_ms
    )
    joined = np.concatenate(pieces).tobytes()
    return [*converter.convert(joined), *converter.flush()], spans


async def run_stream(
    recognizer: StreamingRecognizer, chunks: list[Pcm16], *, speed: float | None = None
) -> list[tuple[float, RecognitionEvent]]:
    """Feed every chunk (as fast as possible, or paced at `speed` x real time), then flush;
    each event with the stream time when it came out."""
    events: list[tuple[float, RecognitionEvent]] = []
    position = 0.0
    started = time.monotonic()
    for chunk in chunks:
        position += chunk.duration_s
        if speed is not None:
            await asyncio.sleep(max(0.0, started + position / speed - time.monotonic()))
        events += [(position, event) for event in await recognizer.feed(chunk)]
    events += [(position, event) for event in await recognizer.flush()]
    return events
