"""Client -> server messages of the signaling protocol, and the wire codec.

Every message is a JSON object discriminated by ``type``. Client messages are parsed with
one ``TypeAdapter`` (:func:`parse_client_message`); unknown types, extra fields, wrong
types and oversized strings are refused with a :class:`~signaling.errors.ProtocolError`.
Every string field is bounded so one message can never be large. Server messages live in
:mod:`signaling.server_messages`; :func:`encode_server_message` puts them on the wire.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from signaling.errors import ProtocolError
from signaling.peers import PeerId
from signaling.server_messages import (
    PROTOCOL_VERSION as PROTOCOL_VERSION,
)
from signaling.server_messages import (
    ChatText,
    ErrorCode,
    ErrorNotice,
    Reason,
    ResumeToken,
    Sdp,
    ServerMessage,
)
from signaling.server_messages import (
    IceCandidate as IceCandidate,
)

MAX_FRAME_BYTES = 32 * 1024
"""Largest raw client frame accepted: an SDP, the largest message, is about 5-15 KiB."""


class _ClientMessage(BaseModel):
    # Strict: a client must send real booleans and integers, not "true" or "1".
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- client -> server -------------------------------------------------------------------


class Hello(_ClientMessage):
    """First message of every connection: protocol version and an optional resume token."""

    type: Literal["hello"] = "hello"
    version: Annotated[int, Field(ge=0, le=1000)]
    resume_token: ResumeToken | None = None


class Admit(_ClientMessage):
    """A clinician admits a waiting peer into the room."""

    type: Literal["admit"] = "admit"
    peer_id: PeerId


class Deny(_ClientMessage):
    """A clinician turns a waiting peer away, with an optional reason shown to them."""

    type: Literal["deny"] = "deny"
    peer_id: PeerId
    reason: Reason | None = None


class SendOffer(_ClientMessage):
    """A WebRTC offer for one other peer in the room."""

    type: Literal["offer"] = "offer"
    sdp: Sdp
    to: PeerId


class SendAnswer(_ClientMessage):
    """A WebRTC answer for one other peer in the room."""

    type: Literal["answer"] = "answer"
    sdp: Sdp
    to: PeerId


class SendIce(_ClientMessage):
    """A trickled ICE candidate (``null`` means end of candidates) for one peer."""

    type: Literal["ice"] = "ice"
    candidate: IceCandidate | None
    to: PeerId


class SendChat(_ClientMessage):
    """A chat line for everybody in the room."""

    type: Literal["chat"] = "chat"
    text: ChatText


class SetMediaState(_ClientMessage):
    """The sender muted or unmuted their microphone or camera."""

    type: Literal["media_state"] = "media_state"
    audio: bool
    video: bool


class Ping(_ClientMessage):
    """Heartbeat; answered with ``pong``. Send one at least every ``ping_interval_s``."""

    type: Literal["ping"] = "ping"


class Leave(_ClientMessage):
    """The sender leaves the visit for good (no grace period)."""

    type: Literal["leave"] = "leave"


class EndCall(_ClientMessage):
    """A clinician ends the call for everybody; the room cannot be joined again."""

    type: Literal["end_call"] = "end_call"


ClientMessage = Annotated[
    Hello
    | Admit
    | Deny
    | SendOffer
    | SendAnswer
    | SendIce
    | SendChat
    | SetMediaState
    | Ping
    | Leave
    | EndCall,
    Field(discriminator="type"),
]


WAITING_MESSAGES: tuple[type[_ClientMessage], ...] = (Ping, Leave, SetMediaState)
"""All a peer not (yet) in the call may send: the room refuses the rest before it is
logged, so a waiting peer can neither reach the others nor grow the visit's log."""

_CLIENT_ADAPTER: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
_SERVER_ADAPTER: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def _describe(error: ValidationError) -> str:
    # Describe the first problem without echoing the input, which may hold PHI.
    first = error.errors(include_url=False, include_input=False)[0]
    kind = first["type"]
    if kind == "json_invalid":
        return "message is not valid JSON"
    if kind == "union_tag_not_found":
        return "message has no 'type' field"
    if kind == "union_tag_invalid":
        return "unknown message type"
    if kind == "model_attributes_type":
        return "message must be a JSON object"
    field = ".".join(str(part) for part in first["loc"][1:]) or "message"
    return f"invalid field '{field}': {first['msg']}"


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Parse one client frame; raise :class:`ProtocolError` (code ``bad_message``) if bad."""
    if len(raw) > MAX_FRAME_BYTES:
        raise ProtocolError(f"message larger than {MAX_FRAME_BYTES} bytes")
    try:
        return _CLIENT_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise ProtocolError(_describe(exc)) from None


def parse_hello(raw: str | bytes) -> Hello:
    """Parse the first frame of a connection, which must be a ``hello`` of our version."""
    message = parse_client_message(raw)
    if not isinstance(message, Hello):
        raise ProtocolError("the first message must be 'hello'")
    if message.version != PROTOCOL_VERSION:
        raise ProtocolError(
            f"unsupported protocol version {message.version}; this server speaks "
            f"{PROTOCOL_VERSION}",
            code="unsupported_version",
        )
    return message


def encode_server_message(message: ServerMessage) -> str:
    """Serialize a server message to its JSON wire form (``from`` keys by alias)."""
    return message.model_dump_json(by_alias=True)


def parse_server_message(raw: str | bytes) -> ServerMessage:
    """Parse a server frame (for Python clients and tests)."""
    try:
        return _SERVER_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise ProtocolError(_describe(exc)) from None


def error_notice(code: ErrorCode, message: str) -> ErrorNotice:
    """Build an ``error`` message, clipping the text to the field's bound."""
    return ErrorNotice(code=code, message=message[:500])


def protocol_error_notice(error: ProtocolError) -> ErrorNotice:
    """The ``error`` message to send back for a :class:`ProtocolError` before closing."""
    codes: dict[str, ErrorCode] = {
        "unsupported_version": "unsupported_version",
        "rate_limited": "rate_limited",
        "not_in_room": "not_in_room",
    }
    return error_notice(codes.get(error.code, "bad_message"), str(error))
