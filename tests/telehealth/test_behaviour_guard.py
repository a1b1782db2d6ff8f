"""A behaviour whose handling of one event fails keeps its worker: the person is told in
speech and on the page (the `hint` its status shows), and their next utterance works.

The voice intake with a failing database: tests/telehealth/intake_app/test_voice_intake_guard.py.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from telehealth.assistant.behaviour import TROUBLE
from telehealth.assistant.navigator import VoiceNavigator
from telehealth.navigation import CommandMatcher
from tests.telehealth.test_voice_navigator import Harness
from voice.peer_events import PeerClosed

SECRET_WORDS = "my chest hurts since the wedding"  # what was said: never in a log line


class BrokenOnce(CommandMatcher):
    """The page's matcher, failing on its next utterance the way a bug would."""

    broken = True

    def match(self, text: str, *, now: float) -> object:  # type: ignore[override]
        if self.broken:
            self.broken = False
            raise KeyError(text)  # the message holds what was said: it must not be logged
        return super().match(text, now=now)


@pytest_asyncio.fixture
async def harness() -> AsyncIterator[Harness]:
    navigator = VoiceNavigator("waiting", visit_id="visit-1", clock=lambda: 0.0)
    harness = Harness(navigator)
    await harness.settle()
    yield harness
    await navigator(PeerClosed("closed"))
    await navigator.stop()


@pytest.mark.asyncio
async def test_a_failing_event_is_told_and_the_next_utterance_works(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    navigator = harness.navigator
    navigator.matcher.__class__ = BrokenOnce
    with caplog.at_level(logging.INFO, logger="telehealth"):
        await harness.hear(SECRET_WORDS, listed=False)
    told = f"{TROUBLE} {VoiceNavigator.way_on}"
    assert "keyboard" in told
    assert harness.peer.texts() == [told]
    assert harness.peer.of_type("hint") == [{"type": "hint", "text": told, "heard": ""}]
    assert navigator.failures == 1
    (failure,) = [r for r in caplog.records if "could not handle an event" in r.getMessage()]
    assert getattr(failure, "visit_id", None) == "visit-1"
    assert str(getattr(failure, "failure", "")) == "builtins.KeyError"
    for record in caplog.records:
        assert SECRET_WORDS not in f"{record.getMessage()} {vars(record)}"
    # The phrase list still follows the page after the failure.
    assert harness.peer.phrases == navigator.phrases()

    await harness.hear("Mute.")
    assert harness.peer.of_type("command")[-1]["action"] == "mute"
    await harness.hear("Assistant, where am I?")
    assert harness.peer.of_type("command")[-1]["action"] == "where_am_i"
    assert "waiting" in harness.peer.texts()[-1].lower()
    assert navigator.failures == 1


@pytest.mark.asyncio
async def test_a_failure_to_tell_is_logged_and_the_worker_goes_on(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    navigator = harness.navigator
    navigator.matcher.__class__ = BrokenOnce
    peer = harness.peer

    async def speechless(*_args: object, **_kwargs: object) -> float:
        raise RuntimeError("the synthesizer is gone")

    speaking = peer.say
    peer.say = speechless  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="telehealth"):
        await harness.hear(SECRET_WORDS, listed=False)
    assert any("could not tell the person" in r.getMessage() for r in caplog.records)
    assert peer.of_type("hint")  # the page was still told

    peer.say = speaking  # type: ignore[method-assign]
    await harness.hear("Mute.")
    assert peer.of_type("command")[-1]["action"] == "mute"
