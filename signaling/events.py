"""Room events: every input of a room, serialized into the visit's shared event log.

Captions are the exception: a :class:`CaptionEvent` is published live (never logged) and
shown without changing the room (:meth:`~signaling.room.RoomState.live_caption`).

Each server process that serves a peer of a visit applies the visit's events, in log
order, to its own :class:`~signaling.room.RoomState` replica. Because the state machine is
deterministic and each event carries the time stamped by the process that published it,
all replicas agree on everything, including who is told what.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from signaling.errors import BadEvent
from signaling.messages import ClientMessage
from signaling.peers import PeerId, PeerInfo
from signaling.room import RoomState
from signaling.room_model import Outbound, StatusAudience
from signaling.server_messages import Caption, ResumeToken, Status

_Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _RoomEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: _Id
    origin: _Id  # the publishing hub, so only it reports the transitions the event causes
    now: Annotated[float, Field(allow_inf_nan=False)]


class JoinEvent(_RoomEvent):
    """A peer connected (``token`` is the resume token issued to the new connection)."""

    kind: Literal["join"] = "join"
    peer: PeerInfo
    connection_id: _Id
    token: ResumeToken
    resume_token: ResumeToken | None = None


class MessageEvent(_RoomEvent):
    """A client message arrived on a connection."""

    kind: Literal["message"] = "message"
    peer_id: PeerId
    connection_id: _Id
    message: ClientMessage


class DisconnectEvent(_RoomEvent):
    """A connection was lost; the peer's grace period starts."""

    kind: Literal["disconnect"] = "disconnect"
    peer_id: PeerId
    connection_id: _Id


class ExpireEvent(_RoomEvent):
    """A deadline passed: check heartbeats and grace periods."""

    kind: Literal["expire"] = "expire"


class CaptionEvent(_RoomEvent):
    """A server-side caption for the room."""

    kind: Literal["caption"] = "caption"
    caption: Caption


class StatusEvent(_RoomEvent):
    """A server-side status event for part of the visit."""

    kind: Literal["status"] = "status"
    status: Status
    audience: StatusAudience = "in_room"


RoomEvent = Annotated[
    JoinEvent | MessageEvent | DisconnectEvent | ExpireEvent | CaptionEvent | StatusEvent,
    Field(discriminator="kind"),
]

_EVENT_ADAPTER: TypeAdapter[RoomEvent] = TypeAdapter(RoomEvent)


def encode_event(event: RoomEvent) -> bytes:
    """Serialize an event for the log."""
    return event.model_dump_json().encode()


def decode_event(data: bytes) -> RoomEvent:
    """Parse a log entry; raise :class:`BadEvent` if it is not a room event."""
    try:
        return _EVENT_ADAPTER.validate_json(data)
    except ValidationError as exc:
        raise BadEvent(f"not a room event ({exc.error_count()} problems)") from None


def apply_event(room: RoomState, event: RoomEvent) -> list[Outbound]:
    """Feed one event to a room replica and return the messages it produced."""
    if isinstance(event, JoinEvent):
        return room.join(
            event.peer,
            event.now,
            token=event.token,
            resume_token=event.resume_token,
            connection_id=event.connection_id,
        )
    if isinstance(event, MessageEvent):
        return room.handle(
            event.peer_id, event.message, event.now, connection_id=event.connection_id
        )
    if isinstance(event, DisconnectEvent):
        return room.disconnect(event.peer_id, event.now, connection_id=event.connection_id)
    if isinstance(event, ExpireEvent):
        return room.expire(event.now)
    if isinstance(event, CaptionEvent):
        return room.inject_caption(event.caption, event.now)
    return room.inject_status(event.status, event.now, audience=event.audience)
