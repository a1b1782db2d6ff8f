"""The assistant data channel's messages: typed, strict and bounded, in both directions.

Every message is a JSON object discriminated by `type`, snake_case throughout. This module
holds the messages of the peer itself; the app adds its own (`ChannelMessage` subclasses)
and tells the peer which ones the page may send (`client_messages`).

Page -> server (the peer's own):
- `subscribe {events}`: send me these events from now on (replaces the previous list; `[]`
  stops them all). Nothing of `EVENT_TYPES` is sent before a page asks for it.

Server -> page (the peer's own):
- the events of `EVENT_TYPES`, only when subscribed: `partial` (at most one per
  `PARTIAL_INTERVAL_S`), `final`, `not_understood`, `audio_dropped`, `speaking`, `spoken`;
- `error {code, detail}`: a message from the page was refused (`RefusalCode`); nothing else
  happened, the connection goes on.

Limits: a page message is at most `MAX_CLIENT_MESSAGE_CHARS` characters of JSON text; extra
fields, wrong types (no "true" for true) and unknown types are refused.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "EVENT_TYPES",
    "MAX_CLIENT_MESSAGE_CHARS",
    "PEER_CLIENT_MESSAGES",
    "AudioDroppedEvent",
    "ChannelError",
    "ChannelMessage",
    "EventType",
    "FinalEvent",
    "MessageRefused",
    "NotUnderstoodEvent",
    "PartialEvent",
    "RefusalCode",
    "SpeakingEvent",
    "SpokenEvent",
    "Subscribe",
    "WordTiming",
    "parse_channel_message",
]

# Page messages are small commands ("page", "say", "ask"); anything longer is refused.
MAX_CLIENT_MESSAGE_CHARS = 4096
# A caption-style reader needs no more than four partials a second; more only costs CPU.
PARTIAL_INTERVAL_S = 0.25

EventType = Literal["partial", "final", "not_understood", "audio_dropped", "speaking", "spoken"]
EVENT_TYPES: tuple[EventType, ...] = (
    "partial",
    "final",
    "not_understood",
    "audio_dropped",
    "speaking",
    "spoken",
)

RefusalCode = Literal["too_big", "not_json", "unknown_type", "invalid"]


class _Strict(BaseModel):
    # Strict: a page must send real booleans and numbers, not "true" or "1". No NaN or
    # infinity either way: JSON has no such numbers.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class ChannelMessage(_Strict):
    """Base of every data-channel message: strict, no extra fields, finite numbers only."""

    type: str

    def to_json(self) -> str:
        """The message as compact JSON text (never None: the model has every field)."""
        return self.model_dump_json()


# --- page -> server -----------------------------------------------------------------------


class Subscribe(ChannelMessage):
    """The page wants these events (and no others) from now on."""

    type: Literal["subscribe"] = "subscribe"
    events: Annotated[list[EventType], Field(max_length=len(EVENT_TYPES))]


PEER_CLIENT_MESSAGES: dict[str, type[ChannelMessage]] = {"subscribe": Subscribe}


# --- server -> page -----------------------------------------------------------------------

Seconds = float
Confidence = float


class WordTiming(_Strict):
    """One word of a final: seconds of the speaker's audio, and the engine's confidence."""

    text: str
    start_s: Seconds
    end_s: Seconds
    confidence: Confidence


class PartialEvent(ChannelMessage):
    type: Literal["partial"] = "partial"
    text: str


class FinalEvent(ChannelMessage):
    type: Literal["final"] = "final"
    text: str
    start_s: Seconds
    end_s: Seconds
    confidence: Confidence
    words: list[WordTiming]


class NotUnderstoodEvent(ChannelMessage):
    type: Literal["not_understood"] = "not_understood"
    heard: str
    start_s: Seconds
    end_s: Seconds


class AudioDroppedEvent(ChannelMessage):
    type: Literal["audio_dropped"] = "audio_dropped"
    seconds: Seconds
    total_s: Seconds


class SpeakingEvent(ChannelMessage):
    type: Literal["speaking"] = "speaking"
    text: str


class SpokenEvent(ChannelMessage):
    type: Literal["spoken"] = "spoken"
    text: str
    interrupted: bool


class ChannelError(ChannelMessage):
    """A page message was refused; `detail` names what was wrong, never what was sent."""

    type: Literal["error"] = "error"
    code: RefusalCode
    detail: str


# --- parsing ------------------------------------------------------------------------------


class MessageRefused(ValueError):
    """A page message that is not one of the accepted ones; `error` is the reply to send."""

    def __init__(self, code: RefusalCode, detail: str, *, known_type: str | None = None) -> None:
        super().__init__(detail)
        self.error = ChannelError(code=code, detail=detail)
        self.known_type = known_type  # the message's type when it is an accepted one


def parse_channel_message(
    data: object, accepted: dict[str, type[ChannelMessage]]
) -> ChannelMessage:
    """`data` received on the data channel as one of the `accepted` models (by `type`).

    Raises `MessageRefused` for bytes, text over `MAX_CLIENT_MESSAGE_CHARS`, anything but a
    JSON object with a string `type`, an unknown type, or fields the model refuses.
    """
    if isinstance(data, str | bytes) and len(data) > MAX_CLIENT_MESSAGE_CHARS:
        limit = MAX_CLIENT_MESSAGE_CHARS
        raise MessageRefused("too_big", f"messages are at most {limit} characters")
    if not isinstance(data, str):
        raise MessageRefused("not_json", "messages are JSON text, not binary")
    try:
        payload: Any = json.loads(data)
    except ValueError:
        raise MessageRefused("not_json", "the message is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise MessageRefused("not_json", "a message is a JSON object with a string 'type'")
    kind: str = payload["type"]
    model = accepted.get(kind)
    if model is None:
        known = ", ".join(sorted(accepted))
        raise MessageRefused("unknown_type", f"unknown message type; accepted here: {known}")
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise MessageRefused(
            "invalid", f"{kind}: {_fields_at_fault(error, model)}", known_type=kind
        ) from None


def _fields_at_fault(error: ValidationError, model: type[ChannelMessage]) -> str:
    """Which of the model's fields were wrong; a field the page made up is not named back."""
    named: set[str] = set()
    unexpected = False
    for problem in error.errors():
        field = problem["loc"][0] if problem["loc"] else None
        if isinstance(field, str) and field in model.model_fields:
            named.add(field)
        else:
            unexpected = True
    parts = [f"invalid {', '.join(sorted(named))}"] if named else []
    if unexpected:
        parts.append("unexpected fields")
    return "; ".join(parts) or "invalid message"
