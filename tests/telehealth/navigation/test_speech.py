"""Real speech: espeak-ng commands recognized by the embedded Whisper tiny.en engine with the
page's phrase list, then matched; and a consultation sentence in a call, which is no command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from telehealth.navigation import CommandMatch, CommandMatcher, CommandResult, NoCommand
from tests.voice.speech_helpers import espeak, run_stream, speech_chunks
from voice.engines import load_engine
from voice.recognition import Final, NotUnderstood, SpeechEngine

pytestmark = pytest.mark.slow


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def whisper() -> AsyncIterator[SpeechEngine]:
    engine = load_engine("whisper", "en", models_dir=None)
    yield engine
    await engine.close()


async def hear(
    engine: SpeechEngine, matcher: CommandMatcher, text: str, path: Path
) -> list[CommandResult]:
    """Say `text` into a stream with the matcher's current phrase list; match each result."""
    chunks, _ = speech_chunks([espeak(text, path)], engine.info.sample_rate, gap_s=0.5)
    stream = engine.stream(matcher.phrases())
    try:
        events = [event for _, event in await run_stream(stream, chunks)]
    finally:
        await stream.close()
    heard = [event for event in events if isinstance(event, Final | NotUnderstood)]
    assert heard, f"nothing recognized for {text!r}"
    return [matcher.match_event(event) for event in heard]


def actions(results: list[CommandResult]) -> list[tuple[str, str]]:
    return [(r.action, r.outcome) for r in results if isinstance(r, CommandMatch)]


@pytest.mark.asyncio(loop_scope="module")
async def test_spoken_commands_reach_their_actions(whisper: SpeechEngine, tmp_path: Path) -> None:
    join = CommandMatcher("join")
    assert actions(await hear(whisper, join, "check in", tmp_path / "a.wav")) == [
        ("check_in", "perform")
    ]
    call = CommandMatcher("call")
    assert actions(await hear(whisper, call, "assistant, mute", tmp_path / "b.wav")) == [
        ("mute", "perform")
    ]
    said = "assistant, turn on captions"
    assert actions(await hear(whisper, call, said, tmp_path / "c.wav")) == [
        ("captions_on", "perform")
    ]


@pytest.mark.asyncio(loop_scope="module")
async def test_ending_the_call_by_voice_asks_first(whisper: SpeechEngine, tmp_path: Path) -> None:
    call = CommandMatcher("call")
    asked = await hear(whisper, call, "assistant, end the call", tmp_path / "a.wav")
    assert actions(asked) == [("end_call", "confirm")]
    assert call.pending_confirmation == "end_call"
    # The next stream listens for yes and no, said without the wake phrase.
    assert actions(await hear(whisper, call, "yes", tmp_path / "b.wav")) == [
        ("end_call", "perform")
    ]


@pytest.mark.asyncio(loop_scope="module")
async def test_conversation_in_a_call_is_no_command(whisper: SpeechEngine, tmp_path: Path) -> None:
    call = CommandMatcher("call")
    for index, sentence in enumerate(
        ["I can't mute the TV at night.", "I've had this cough for about a week now."]
    ):
        results = await hear(whisper, call, sentence, tmp_path / f"{index}.wav")
        assert all(isinstance(result, NoCommand) for result in results), results
