"""Signaling for video visits: the room protocol, its pure state machine, and the hub.

* :mod:`signaling.messages` / :mod:`signaling.server_messages`: the typed wire protocol.
* :class:`RoomState`: one visit's room and waiting queue, pure and deterministic.
* :func:`create_backend`: the ordered, replayable event log (``memory://``, ``redis://``).
* :class:`RoomHub`: rooms replicated over that log, served to local websockets.

This package imports nothing from the application; the app hands in who a peer is.
"""

from __future__ import annotations

from signaling.connection import Connection, SendCallback
from signaling.errors import (
    BackendError,
    BackendUnavailable,
    BadEvent,
    ConnectionClosed,
    HubClosed,
    JoinRefused,
    LogTruncated,
    NotAdmitted,
    ProtocolError,
    RateLimited,
    RefusedRepeatedly,
    RoomEnded,
    RoomFull,
    SignalingError,
    UnsupportedBackend,
)
from signaling.hub import RoomHub
from signaling.messages import (
    ClientMessage,
    encode_server_message,
    parse_client_message,
    parse_hello,
    parse_server_message,
    protocol_error_notice,
)
from signaling.peers import PeerInfo, PeerSummary, Role
from signaling.pubsub import EventLog, create_backend
from signaling.replica import TransitionCallback
from signaling.room import RoomState
from signaling.room_model import Outbound, RoomTransition, StatusAudience
from signaling.roster import RoomLimits
from signaling.server_messages import (
    PROTOCOL_VERSION,
    Caption,
    CloseReason,
    ServerMessage,
    Status,
)

__all__ = [
    "PROTOCOL_VERSION",
    "BackendError",
    "BackendUnavailable",
    "BadEvent",
    "Caption",
    "ClientMessage",
    "CloseReason",
    "Connection",
    "ConnectionClosed",
    "EventLog",
    "HubClosed",
    "JoinRefused",
    "LogTruncated",
    "NotAdmitted",
    "Outbound",
    "PeerInfo",
    "PeerSummary",
    "ProtocolError",
    "RateLimited",
    "RefusedRepeatedly",
    "Role",
    "RoomEnded",
    "RoomFull",
    "RoomHub",
    "RoomLimits",
    "RoomState",
    "RoomTransition",
    "SendCallback",
    "ServerMessage",
    "SignalingError",
    "Status",
    "StatusAudience",
    "TransitionCallback",
    "UnsupportedBackend",
    "create_backend",
    "encode_server_message",
    "parse_client_message",
    "parse_hello",
    "parse_server_message",
    "protocol_error_notice",
]
