"""Transcribe a WAV file through the same streaming path a live call uses."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from voice.audio import DEFAULT_CHUNK_MS, read_wav
from voice.engines import EngineChoice, load_engine
from voice.recognition import Final, RecognitionEvent, SpeechEngine


def _finals(events: list[RecognitionEvent]) -> list[Final]:
    return [event for event in events if isinstance(event, Final)]


async def transcribe_wav(
    path: str | Path,
    engine: SpeechEngine,
    *,
    phrases: Sequence[str] | None = None,
    chunk_ms: int = DEFAULT_CHUNK_MS,
) -> list[Final]:
    """Run a WAV (any supported rate, format and channel count) through `engine` in chunks
    as a live stream would deliver them, as fast as the engine goes; return the finals.

    Raises `AudioFormatError` for an unreadable file.
    """
    wav = read_wav(path)
    converter = wav.converter(engine.info.sample_rate, chunk_ms)
    stream = engine.stream(phrases)
    finals: list[Final] = []
    try:
        for block in wav.blocks(chunk_ms):
            for chunk in converter.convert(block):
                finals.extend(_finals(await stream.feed(chunk)))
        for chunk in converter.flush():
            finals.extend(_finals(await stream.feed(chunk)))
        finals.extend(_finals(await stream.flush()))
    finally:
        await stream.close()
    return finals


def transcribe_file(
    path: str | Path,
    *,
    engine: EngineChoice = "auto",
    language: str = "en",
    models_dir: str | Path | None = "models",
    vosk_model: str | Path | None = None,
    whisper_model: str | Path | None = None,
) -> list[Final]:
    """Blocking helper for the CLI: select and load an engine, transcribe, close it."""

    async def run() -> list[Final]:
        loaded = await asyncio.to_thread(
            load_engine,
            engine,
            language,
            models_dir=models_dir,
            vosk_model=vosk_model,
            whisper_model=whisper_model,
        )
        try:
            return await transcribe_wav(path, loaded)
        finally:
            await loaded.close()

    return asyncio.run(run())
