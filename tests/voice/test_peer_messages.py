"""The assistant data channel's own messages: strict parsing, refusals, subscriptions."""

from __future__ import annotations

import json

import pytest

from voice.peer_events import event_channel_message
from voice.peer_messages import (
    EVENT_TYPES,
    MAX_CLIENT_MESSAGE_CHARS,
    PEER_CLIENT_MESSAGES,
    AudioDroppedEvent,
    ChannelError,
    FinalEvent,
    MessageRefused,
    NotUnderstoodEvent,
    PartialEvent,
    SpeakingEvent,
    SpokenEvent,
    Subscribe,
    parse_channel_message,
)
from voice.peer_subscription import EventSubscription


def refusal(data: object) -> ChannelError:
    with pytest.raises(MessageRefused) as caught:
        parse_channel_message(data, PEER_CLIENT_MESSAGES)
    return caught.value.error


def test_subscribe_parses_and_replaces_nothing_else() -> None:
    message = parse_channel_message(
        '{"type": "subscribe", "events": ["final", "spoken"]}', PEER_CLIENT_MESSAGES
    )
    assert message == Subscribe(events=["final", "spoken"])
    assert parse_channel_message('{"type":"subscribe","events":[]}', PEER_CLIENT_MESSAGES) == (
        Subscribe(events=[])
    )


@pytest.mark.parametrize(
    ("data", "code", "detail"),
    [
        ('{"type": "subscribe", "events": ["gossip"]}', "invalid", "subscribe: invalid events"),
        ('{"type": "subscribe", "events": "final"}', "invalid", "subscribe: invalid events"),
        ('{"type": "subscribe"}', "invalid", "subscribe: invalid events"),
        (
            '{"type": "subscribe", "events": [], "password": "hunter2"}',
            "invalid",
            "subscribe: unexpected fields",
        ),
        (
            json.dumps({"type": "subscribe", "events": ["final"] * 7}),
            "invalid",
            "subscribe: invalid events",
        ),
        ('{"type": "page", "page": "waiting"}', "unknown_type", None),
        ('{"type": ""}', "unknown_type", None),
        ("not json", "not_json", "the message is not JSON"),
        ("[1, 2]", "not_json", None),
        ('{"type": 3}', "not_json", None),
        ('{"events": []}', "not_json", None),
        (b'{"type": "subscribe", "events": []}', "not_json", "messages are JSON text, not binary"),
        (None, "not_json", None),
    ],
)
def test_what_is_not_a_valid_message_is_refused_with_a_reason(
    data: object, code: str, detail: str | None
) -> None:
    error = refusal(data)
    assert error.code == code
    if detail is not None:
        assert error.detail == detail
    # The reply never carries what was sent.
    assert "hunter2" not in error.to_json() and "gossip" not in error.to_json()


def test_an_unknown_type_is_named_only_by_what_is_accepted() -> None:
    error = refusal('{"type": "drop_tables"}')
    assert error == ChannelError(
        code="unknown_type", detail="unknown message type; accepted here: subscribe"
    )


def test_oversized_messages_are_refused_before_parsing() -> None:
    padding = "x" * MAX_CLIENT_MESSAGE_CHARS
    assert refusal(json.dumps({"type": "subscribe", "events": [], "x": padding})).code == "too_big"
    assert refusal((padding + "x").encode()).code == "too_big"
    exactly = '{"type":"subscribe","events":[]}'.ljust(MAX_CLIENT_MESSAGE_CHARS)
    assert parse_channel_message(exactly, PEER_CLIENT_MESSAGES) == Subscribe(events=[])


def test_refusal_knows_the_type_only_when_it_is_an_accepted_one() -> None:
    with pytest.raises(MessageRefused) as invalid:
        parse_channel_message('{"type": "subscribe", "events": 1}', PEER_CLIENT_MESSAGES)
    assert invalid.value.known_type == "subscribe"
    with pytest.raises(MessageRefused) as unknown:
        parse_channel_message('{"type": "patient name here"}', PEER_CLIENT_MESSAGES)
    assert unknown.value.known_type is None


def test_strict_types_no_coercion() -> None:
    assert refusal('{"type": "subscribe", "events": [1]}').code == "invalid"


def test_every_event_model_is_a_subscribable_type() -> None:
    models = [PartialEvent, FinalEvent, NotUnderstoodEvent, AudioDroppedEvent, SpeakingEvent]
    types = [model.model_fields["type"].default for model in [*models, SpokenEvent]]
    assert types == list(EVENT_TYPES)
    assert event_channel_message  # the one builder (tests/voice/test_peer_events.py)


def test_nothing_is_sent_before_a_subscription_and_only_what_was_asked() -> None:
    subscription = EventSubscription()
    assert not any(subscription.wants(kind) for kind in EVENT_TYPES)
    subscription.replace(["final", "spoken"])
    assert subscription.wants("final") and subscription.wants("spoken")
    assert not subscription.wants("partial") and not subscription.wants("speaking")
    subscription.replace([])
    assert not subscription.wants("final")


def test_partials_are_throttled_and_a_final_resets_the_pace() -> None:
    now = [100.0]
    subscription = EventSubscription(["partial", "final"], interval_s=0.25, clock=lambda: now[0])
    sent = []
    for step in range(10):  # a partial every 0.1 s for one second
        now[0] = 100.0 + step * 0.1
        sent.append(subscription.wants("partial"))
    assert sent == [True, False, False, True, False, False, True, False, False, True]
    assert subscription.partials_skipped == 6
    assert subscription.wants("final")  # finals are never throttled
    now[0] += 0.01
    assert subscription.wants("partial")  # the next utterance's first partial goes at once
