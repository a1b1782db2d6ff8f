"""Plain data the room state machine works with and hands out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from signaling.peers import PeerInfo, PeerState, PeerSummary, Role
from signaling.server_messages import CloseReason, ServerMessage

StatusAudience = Literal["in_room", "everyone", "clinicians"]
"""Who receives an injected status: the room, the room and the waiting queue, or the
clinicians in the room only (for flags such as ``urgent_intake``)."""

SessionEnd = Literal["left", "replaced", "expired"]
"""Why the room ended a peer's session on its own (the reason of a ``bye``)."""

TransitionKind = Literal["waiting", "entered_room", "admitted", "denied", "left", "call_ended"]


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message for one peer.

    ``connection_id`` is the connection the peer had when the message was produced, so a
    message for a replaced connection never reaches its successor (``None`` only for
    messages to a sender that never joined and gave no connection id). ``close`` asks the
    transport to close that connection, with this reason, once the message is delivered.
    """

    to: str
    message: ServerMessage
    connection_id: str | None = None
    close: CloseReason | None = None


@dataclass(frozen=True, slots=True)
class RoomTransition:
    """A change of the visit the app may persist or audit.

    ``waiting``: a non-clinician joined the queue; ``entered_room``: a clinician joined;
    ``admitted``/``denied``: by clinician ``by``; ``left``: a session ended (``reason``
    ``left``, ``replaced`` or ``expired``); ``call_ended``: by clinician ``by``.
    """

    kind: TransitionKind
    visit_id: str
    peer_id: str
    role: Role
    at: float
    by: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class Member:
    """The room's record of one present peer (internal to the state machine)."""

    info: PeerInfo
    state: PeerState
    connection_id: str
    token: str
    online: bool = True
    last_seen: float = 0.0
    offline_since: float | None = None
    audio: bool = True
    video: bool = True

    def summary(self) -> PeerSummary:
        """What other peers are told about this one."""
        return PeerSummary(
            peer_id=self.info.peer_id,
            role=self.info.role,
            name=self.info.name,
            state=self.state,
            online=self.online,
            audio=self.audio,
            video=self.video,
        )
