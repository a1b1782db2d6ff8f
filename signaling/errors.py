"""The exception hierarchy of the ``signaling`` package.

Everything this package raises on purpose derives from :class:`SignalingError`, so the
websocket adapter of the app can catch one type and map each subclass to a close code.
The pure room state machine never raises for things a client can do wrong: it answers
with an ``error`` message instead. Exceptions are for the edges: parsing, joining, and
the pub/sub backend.
"""

from __future__ import annotations


class SignalingError(Exception):
    """Base class of every error raised by the ``signaling`` package."""


class ProtocolError(SignalingError):
    """A client sent something that is not a valid protocol message.

    Bad JSON, an unknown ``type``, a missing, extra or oversized field, a first message
    that is not ``hello``, or an unsupported protocol version. ``code`` is a short stable
    string (for example ``"bad_message"`` or ``"unsupported_version"``) that the adapter
    can send back in an ``error`` message before closing with 1008 (policy violation).
    """

    def __init__(self, message: str, *, code: str = "bad_message") -> None:
        super().__init__(message)
        self.code = code


class RateLimited(ProtocolError):
    """A connection submitted messages faster than its allowance (a flooding client)."""

    def __init__(self, message: str = "too many messages; slow down") -> None:
        super().__init__(message, code="rate_limited")


class NotAdmitted(ProtocolError):
    """A peer that is not in the call sent something only peers in the call may send.

    Refused before it reaches the visit's log (see ``signaling.messages.WAITING_MESSAGES``);
    the adapter answers with an ``error`` (code ``not_in_room``) and the connection lives on.
    """

    def __init__(self, message: str = "wait until you are admitted") -> None:
        super().__init__(message, code="not_in_room")


class RefusedRepeatedly(RateLimited):
    """A connection kept sending messages the room refuses (close it, as for a flood)."""

    def __init__(self, message: str = "too many refused messages") -> None:
        super().__init__(message)


class JoinRefused(SignalingError):
    """The room refused a join; the client has already been sent an ``error`` message."""


class RoomEnded(JoinRefused):
    """The visit's call has ended (a clinician sent ``end_call``); nobody can join again."""


class RoomFull(JoinRefused):
    """The room or its waiting queue is at capacity."""


class ConnectionClosed(SignalingError):
    """``submit`` was called on a hub connection that is already closed.

    ``reason`` is the connection's close reason (see ``signaling.messages.CloseReason``).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"connection closed: {reason}")
        self.reason = reason


class HubClosed(SignalingError):
    """The room hub has been closed (server shutting down); no new connections."""


class BackendError(SignalingError):
    """Base class of pub/sub backend failures."""


class UnsupportedBackend(BackendError, ValueError):
    """The backend URL has a scheme this package does not know (use memory:// or redis://)."""


class BackendUnavailable(BackendError):
    """The pub/sub backend cannot be reached or did not answer within its timeout."""


class PayloadRejected(BackendError):
    """A stored entry did not open with the backend's payload codec (another key, or
    altered); the subscriber skips it."""


class LogTruncated(BackendError):
    """Entries a subscriber still needed were trimmed from a channel's bounded log.

    A room replica that misses events cannot be trusted any more, so the hub closes the
    visit's local connections; clients reconnect and the replica is rebuilt.
    """


class BadEvent(BackendError):
    """A log entry is not a room event (written by another version, or corrupt).

    Replicas skip such entries, all in the same way, so they keep agreeing.
    """
