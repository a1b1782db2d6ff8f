"""The navigator's logic: page messages in, commands, answers and speech out.

The peer here is a recorder (what was said, sent and listened for); the same navigator
runs over real WebRTC with real speech in tests/browser/test_voice_journey.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import pytest
import pytest_asyncio

from telehealth.assistant.channel_messages import NAVIGATOR_MESSAGES
from telehealth.assistant.navigator import NAME_HINT, YES_OR_NO_HINT, VoiceNavigator
from telehealth.navigation import VoicePreferences
from telehealth.navigation.answers import spoken_name, yes_or_no
from voice.peer import AssistantPeer
from voice.peer_events import ClientMessage, PeerClosed, Recognized
from voice.peer_messages import ChannelMessage, MessageRefused, parse_channel_message
from voice.recognition import Final, NotUnderstood


class RecordingPeer:
    """What the navigator does to its peer: speech, data-channel messages, phrase lists."""

    def __init__(self) -> None:
        self.said: list[tuple[str, int | None, float]] = []
        self.sent: list[dict[str, Any]] = []
        self.phrases: list[str] | None = None
        self.closed = False

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        self.phrases = list(phrases) if phrases is not None else None

    async def say(
        self, text: str, *, rate_wpm: int | None = None, volume: float = 1.0, interrupt: bool
    ) -> float:
        self.said.append((text, rate_wpm, volume))
        return 1.0

    def send_message(self, message: ChannelMessage) -> None:
        self.sent.append(message.model_dump())

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [message for message in self.sent if message["type"] == kind]

    def texts(self) -> list[str]:
        return [text for text, _, _ in self.said]


class Harness:
    def __init__(self, navigator: VoiceNavigator) -> None:
        self.navigator = navigator
        self.peer = RecordingPeer()
        navigator.attach(cast(AssistantPeer, self.peer))

    async def settle(self) -> None:
        # The navigator works through its queue in a task of its own.
        for _ in range(50):
            await asyncio.sleep(0)
            if self.navigator._items.empty():
                break
        await asyncio.sleep(0.01)

    async def message(self, **payload: Any) -> None:
        # Parsed as the peer parses what the page sends (it refuses what does not parse).
        parsed = parse_channel_message(json.dumps(payload), NAVIGATOR_MESSAGES)
        await self.navigator(ClientMessage(parsed))
        await self.settle()

    async def hear(self, text: str, *, listed: bool = True) -> None:
        event = Final(text, 0.0, 1.0) if listed else NotUnderstood(text, 0.0, 1.0)
        await self.navigator(Recognized(event, 1.0, 0.0))
        await self.settle()


@pytest_asyncio.fixture
async def harness() -> AsyncIterator[Harness]:
    clock = [0.0]
    navigator = VoiceNavigator("join", clock=lambda: clock[0])
    harness = Harness(navigator)
    await harness.settle()
    yield harness
    await navigator(PeerClosed("closed"))
    await navigator.stop()


@pytest.mark.asyncio
async def test_the_page_says_where_the_person_is_and_the_phrase_list_follows(
    harness: Harness,
) -> None:
    await harness.message(type="page", page="waiting", say="You are in the waiting room.")
    assert harness.peer.texts() == ["You are in the waiting room."]
    assert harness.navigator.matcher.page == "waiting"
    assert harness.peer.phrases is not None and "start symptom check" in harness.peer.phrases
    assert "end the call" not in harness.peer.phrases

    await harness.message(type="page", page="call")
    assert harness.peer.phrases is not None
    assert "assistant end the call" in harness.peer.phrases


@pytest.mark.asyncio
async def test_commands_go_to_the_page_and_conversation_in_a_call_does_not(
    harness: Harness,
) -> None:
    await harness.message(type="page", page="waiting")
    await harness.hear("Mute.")
    assert harness.peer.of_type("command") == [
        {"type": "command", "action": "mute", "outcome": "perform", "heard": "Mute.", "said": False}
    ]
    await harness.message(type="page", page="call")
    await harness.hear("I could not mute my microphone yesterday.", listed=False)
    await harness.hear("mute my microphone")  # a bare phrase in a call: the reject class
    assert len(harness.peer.of_type("command")) == 1
    assert harness.peer.texts() == []  # conversation gets no reply at all
    await harness.hear("Assistant, unmute.")
    assert harness.peer.of_type("command")[-1]["action"] == "unmute"


@pytest.mark.asyncio
async def test_a_yes_no_question_is_answered_and_commands_still_work_meanwhile(
    harness: Harness,
) -> None:
    prompt = "May we save the captions? Please say yes or no."
    await harness.message(type="ask", id="consent", expects="yes_no", prompt=prompt)
    assert harness.peer.texts() == [prompt]
    assert harness.peer.phrases is not None and {"yes", "no"} <= set(harness.peer.phrases)

    await harness.hear("What can I say?")
    assert harness.peer.texts()[-1].startswith("You are on the check-in page. You can say:")
    assert harness.peer.of_type("answer") == []
    await harness.hear("banana bread", listed=False)
    assert harness.peer.texts()[-1] == YES_OR_NO_HINT
    await harness.hear("Repeat.")
    assert harness.peer.texts()[-1].startswith("You are on the check-in page.")

    await harness.hear("Yes, please.")
    assert harness.peer.of_type("answer") == [
        {"type": "answer", "id": "consent", "value": True, "heard": "Yes, please."}
    ]
    assert harness.navigator.question is None
    assert harness.peer.phrases is not None and "yes" not in harness.peer.phrases


@pytest.mark.asyncio
async def test_a_name_is_dictated_and_cleaned(harness: Harness) -> None:
    await harness.message(type="ask", id="name", expects="name", prompt="What is your name?")
    assert harness.peer.phrases is None  # dictation: names are on no list
    await harness.hear("My name is", listed=False)
    assert harness.peer.texts()[-1] == NAME_HINT
    await harness.hear("my name is maria lópez-garcía.", listed=False)
    answers = harness.peer.of_type("answer")
    assert [a["value"] for a in answers] == ["Maria López-García"]
    assert harness.peer.phrases is not None  # back to the page's commands


@pytest.mark.asyncio
async def test_voice_settings_change_the_voice_and_are_reported(harness: Harness) -> None:
    await harness.hear("Faster.")
    await harness.hear("Not so loud.")
    assert harness.peer.said[-2:] == [("Faster.", 200, 1.0), ("Softer.", 200, 0.8)]
    assert harness.peer.of_type("voice_preferences")[-1] == {
        "type": "voice_preferences",
        "rate_wpm": 200,
        "volume": 0.8,
    }
    # The same by key: the page sends "perform".
    await harness.message(type="perform", action="slower")
    assert harness.navigator.preferences == VoicePreferences(175, 0.8)
    await harness.message(type="perform", action="check_in")  # the page's own: ignored
    assert harness.peer.of_type("command")[-1]["action"] == "slower"


@pytest.mark.asyncio
async def test_stop_listening_leaves_only_start_listening(harness: Harness) -> None:
    await harness.hear("Stop listening.")
    assert harness.peer.of_type("listening") == [{"type": "listening", "listening": False}]
    assert harness.peer.phrases == ["resume listening", "wake up", "start listening"]
    await harness.hear("Check in.")
    assert harness.peer.of_type("command")[-1]["action"] == "stop_listening"
    await harness.message(type="perform", action="start_listening")
    assert harness.peer.of_type("listening")[-1] == {"type": "listening", "listening": True}
    assert harness.navigator.matcher.listening


@pytest.mark.asyncio
async def test_ending_the_call_asks_first(harness: Harness) -> None:
    await harness.message(type="page", page="call")
    await harness.hear("Assistant, end the call.")
    assert harness.peer.texts()[-1] == "Are you sure? Say yes to end the call."
    assert harness.peer.of_type("command")[-1]["outcome"] == "confirm"
    await harness.hear("Yes.")
    assert harness.peer.of_type("command")[-1] == {
        "type": "command",
        "action": "end_call",
        "outcome": "perform",
        "heard": "Yes.",
        "said": False,
    }


@pytest.mark.asyncio
async def test_on_the_intake_page_the_dialogue_answers_help_and_repeat(
    harness: Harness,
) -> None:
    await harness.message(type="page", page="intake")
    await harness.hear("Help.")
    await harness.hear("A headache since Tuesday.", listed=False)
    assert harness.peer.of_type("command") == []
    assert harness.peer.texts() == []
    await harness.hear("Louder.")  # the voice is the navigator's business everywhere
    assert harness.peer.of_type("command")[-1]["action"] == "louder"


@pytest.mark.asyncio
async def test_a_command_not_understood_gets_a_hint_and_bad_messages_are_refused(
    harness: Harness,
) -> None:
    await harness.hear("Open the pod bay doors.", listed=False)
    assert harness.peer.texts() == [
        "Sorry, I didn't catch that. Say 'what can I say' to hear the commands."
    ]
    before = len(harness.peer.sent)
    refused = [
        ({"type": "page", "page": "nowhere"}, "invalid"),
        ({"type": "page", "page": "call", "in_call": "yes"}, "invalid"),
        ({"type": "ask", "id": "x", "expects": "essay", "prompt": "Why?"}, "invalid"),
        ({"type": "ask", "id": 7, "expects": "text", "prompt": "Why?"}, "invalid"),
        ({"type": "unknown"}, "unknown_type"),
    ]
    for payload, code in refused:
        with pytest.raises(MessageRefused) as caught:
            await harness.message(**payload)
        assert caught.value.error.code == code
    assert harness.navigator.matcher.page == "join"
    assert harness.navigator.question is None
    assert len(harness.peer.sent) == before


def test_yes_or_no() -> None:
    assert yes_or_no("Yes.") is True
    assert yes_or_no("Yeah, yes.") is True
    assert yes_or_no("No thanks.") is False
    assert yes_or_no("assistant, no") is False
    assert yes_or_no("Maybe later.") is None


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("Maria Lopez.", "Maria Lopez"),
        ("My name is Maria Lopez.", "Maria Lopez"),
        ("Hi, I'm Sam O'Neil.", "Sam O'Neil"),
        ("It's anne-marie dupont", "Anne-Marie Dupont"),
        ("Call me Jo 2", "Jo"),
        ("um...", None),
        ("I am", None),
        ("", None),
    ],
)
def test_spoken_name(said: str, name: str | None) -> None:
    assert spoken_name(said) == name
