"""The app's data-channel messages: what a page may send the navigator, and what it gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from telehealth.assistant.channel_messages import (
    NAVIGATOR_MESSAGES,
    AskMessage,
    IntakeTurnMessage,
    PageMessage,
    PerformMessage,
    SayMessage,
)
from telehealth.intake import Turn
from voice.peer_messages import (
    MAX_CLIENT_MESSAGE_CHARS,
    PEER_CLIENT_MESSAGES,
    MessageRefused,
    parse_channel_message,
)

ACCEPTED = {**NAVIGATOR_MESSAGES, **PEER_CLIENT_MESSAGES}


def parse(payload: dict[str, Any]) -> object:
    return parse_channel_message(json.dumps(payload), ACCEPTED)


def refused(payload: dict[str, Any] | str) -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    with pytest.raises(MessageRefused) as caught:
        parse_channel_message(text, ACCEPTED)
    return caught.value.error.code


def test_the_navigator_accepts_exactly_four_messages() -> None:
    assert set(NAVIGATOR_MESSAGES) == {"page", "say", "ask", "perform"}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"type": "page", "page": "waiting"}, PageMessage(page="waiting")),
        (
            {"type": "page", "page": "call", "in_call": True, "say": "You are in the call."},
            PageMessage(page="call", in_call=True, say="You are in the call."),
        ),
        ({"type": "say", "text": "Muted."}, SayMessage(text="Muted.")),
        (
            {"type": "say", "text": "Now.", "interrupt": True},
            SayMessage(text="Now.", interrupt=True),
        ),
        (
            {"type": "ask", "id": "consent", "expects": "yes_no", "prompt": "May we? Say yes."},
            AskMessage(id="consent", expects="yes_no", prompt="May we? Say yes."),
        ),
        ({"type": "perform", "action": "faster"}, PerformMessage(action="faster")),
    ],
)
def test_valid_page_messages(payload: dict[str, Any], expected: object) -> None:
    assert parse(payload) == expected


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "page", "page": "lobby"},
        {"type": "page"},
        {"type": "page", "page": "call", "in_call": "yes"},
        {"type": "page", "page": "call", "inCall": True},  # camelCase is not accepted
        {"type": "say"},
        {"type": "say", "text": 5},
        {"type": "say", "text": "x", "interrupt": 1},
        {"type": "say", "text": "x" * 2001},
        {"type": "ask", "id": "x", "expects": "essay", "prompt": "Why?"},
        {"type": "ask", "id": 7, "expects": "text", "prompt": "Why?"},
        {"type": "ask", "id": "", "expects": "text", "prompt": "Why?"},
        {"type": "ask", "id": "x" * 65, "expects": "text", "prompt": "Why?"},
        {"type": "ask", "id": "x", "expects": "text", "prompt": ""},
        {"type": "perform", "action": "Drop Tables"},
        {"type": "perform"},
        {"type": "perform", "action": "faster", "extra": 1},
    ],
)
def test_invalid_page_messages_are_refused(payload: dict[str, Any]) -> None:
    assert refused(payload) == "invalid"


def test_unknown_and_oversized_page_messages_are_refused() -> None:
    assert refused({"type": "intake_turn", "prompt": "x"}) == "unknown_type"  # server's only
    assert refused({"type": "command", "action": "mute"}) == "unknown_type"
    big = {"type": "say", "text": "x" * MAX_CLIENT_MESSAGE_CHARS}
    assert refused(big) == "too_big"


def test_the_intake_turn_is_snake_case() -> None:
    turn = Turn(
        prompt="Do you have a fever?",
        stage="question",
        link_id="fever",
        expects="yes_no",
        phrases=("yes", "no"),
        new_flags=(),
        flags=(),
        offer_keyboard=True,
        done=False,
    )
    assert json.loads(IntakeTurnMessage.of(turn).to_json()) == {
        "type": "intake_turn",
        "prompt": "Do you have a fever?",
        "stage": "question",
        "link_id": "fever",
        "expects": "yes_no",
        "phrases": ["yes", "no"],
        "new_flags": [],
        "flags": [],
        "urgent": False,
        "offer_keyboard": True,
        "done": False,
    }
