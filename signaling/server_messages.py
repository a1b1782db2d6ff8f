"""Server -> client messages of the signaling protocol.

Messages that carry a sender use the JSON key ``from`` (a Python keyword), stored in the
field ``from_``; they serialize by alias, so ``model_dump_json()`` gives the wire form.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from signaling.peers import PeerId, PeerSummary, Role

PROTOCOL_VERSION = 1
"""The protocol version a client announces in ``hello``; bumped on incompatible changes."""

MAX_CHAT_CHARS = 2000

ResumeToken = Annotated[str, StringConstraints(min_length=1, max_length=128)]
MAX_SDP_CHARS = 30 * 1024  # an offer with all its candidates fits a 32 KiB frame
Sdp = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SDP_CHARS)]
ChatText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CHAT_CHARS)]
Reason = Annotated[str, StringConstraints(max_length=500)]
EventName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]

CloseReason = Literal[
    "left",
    "denied",
    "call_ended",
    "replaced",
    "expired",
    "room_ended",
    "room_full",
    "slow_consumer",
    "send_failed",
    "hub_closed",
    "backend_unavailable",
]
"""Why a session or connection ended. The app's adapter maps these to close codes."""

ErrorCode = Literal[
    "bad_message",
    "unsupported_version",
    "rate_limited",
    "not_joined",
    "already_joined",
    "not_allowed",
    "not_in_room",
    "not_waiting",
    "unknown_peer",
    "peer_unavailable",
    "replaced",
    "room_ended",
    "room_full",
]


class _ServerMessage(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class IceCandidate(BaseModel):
    """An ICE candidate exactly as the browser's ``RTCIceCandidate.toJSON()`` gives it."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    candidate: Annotated[str, StringConstraints(max_length=2048)]
    sdpMid: Annotated[str, StringConstraints(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=255)] | None = None
    usernameFragment: Annotated[str, StringConstraints(max_length=256)] | None = None


# --- server -> client -------------------------------------------------------------------


class Welcome(_ServerMessage):
    """Answer to a join: who you are, your resume token, and the peers you can see."""

    type: Literal["welcome"] = "welcome"
    peer_id: PeerId
    role: Role
    resume_token: ResumeToken
    protocol: int = PROTOCOL_VERSION
    state: Literal["waiting", "in_room"]
    peers: list[PeerSummary]
    ping_interval_s: float


class QueuePosition(_ServerMessage):
    """A waiting peer's 1-based place in the queue and whether a clinician is present."""

    type: Literal["queue"] = "queue"
    position: Annotated[int, Field(ge=1)]
    clinician_present: bool


class Admitted(_ServerMessage):
    """You were admitted; ``peers`` is who is in the room now."""

    type: Literal["admitted"] = "admitted"
    peers: list[PeerSummary]


class Denied(_ServerMessage):
    """A clinician turned you away; the connection is closed after this message."""

    type: Literal["denied"] = "denied"
    reason: Reason | None = None


class PeerJoined(_ServerMessage):
    """A peer appeared, or changed state (a waiting peer was admitted)."""

    type: Literal["peer_joined"] = "peer_joined"
    peer: PeerSummary


class PeerLeft(_ServerMessage):
    """A peer is gone: left, denied, replaced by a fresh join, or its grace period ran out."""

    type: Literal["peer_left"] = "peer_left"
    peer: PeerSummary
    reason: Literal["left", "denied", "replaced", "expired"]


class Presence(_ServerMessage):
    """A peer lost its connection (offline, within the grace period) or is back (online).

    ``online`` after an offline, or after a resume, means the peer has a new connection:
    renegotiate media with it.
    """

    type: Literal["presence"] = "presence"
    peer_id: PeerId
    online: bool


class RelayedOffer(_ServerMessage):
    """A WebRTC offer from another peer."""

    type: Literal["offer"] = "offer"
    from_: PeerId = Field(alias="from")
    sdp: Sdp


class RelayedAnswer(_ServerMessage):
    """A WebRTC answer from another peer."""

    type: Literal["answer"] = "answer"
    from_: PeerId = Field(alias="from")
    sdp: Sdp


class RelayedIce(_ServerMessage):
    """An ICE candidate from another peer (``null``: end of candidates)."""

    type: Literal["ice"] = "ice"
    from_: PeerId = Field(alias="from")
    candidate: IceCandidate | None


class ChatPosted(_ServerMessage):
    """A chat line, sent to everybody in the room including its sender."""

    type: Literal["chat"] = "chat"
    from_: PeerId = Field(alias="from")
    name: Annotated[str, StringConstraints(max_length=200)]
    text: ChatText
    at: float


class MediaStateChanged(_ServerMessage):
    """Another peer muted or unmuted."""

    type: Literal["media_state"] = "media_state"
    peer_id: PeerId
    audio: bool
    video: bool


# The longest caption text: what is shown live is what is stored (telehealth's transcript
# store takes the same limit), so the two never differ.
MAX_CAPTION_CHARS = 4000


class Caption(_ServerMessage):
    """A live caption segment; partials are replaced by the final of the same segment_id."""

    type: Literal["caption"] = "caption"
    speaker: PeerId
    speaker_name: Annotated[str, StringConstraints(max_length=200)]
    text: Annotated[str, StringConstraints(max_length=MAX_CAPTION_CHARS)]
    final: bool
    segment_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    start_s: float
    end_s: float


class Status(_ServerMessage):
    """An app-level event such as ``urgent_intake``, with an optional short detail."""

    type: Literal["status"] = "status"
    event: EventName
    detail: Annotated[str, StringConstraints(max_length=1000)] | None = None


class Pong(_ServerMessage):
    """Answer to ``ping``."""

    type: Literal["pong"] = "pong"


class CallEnded(_ServerMessage):
    """The call is over (ended by the clinician ``by``); the connection closes after this."""

    type: Literal["call_ended"] = "call_ended"
    by: PeerId


class Bye(_ServerMessage):
    """This session is over: you left, another connection took your place, or it expired."""

    type: Literal["bye"] = "bye"
    reason: Literal["left", "replaced", "expired"]


class ErrorNotice(_ServerMessage):
    """Your last message broke a rule; nothing else happened. ``code`` is stable."""

    type: Literal["error"] = "error"
    code: ErrorCode
    message: Annotated[str, StringConstraints(max_length=500)]


ServerMessage = Annotated[
    Welcome
    | QueuePosition
    | Admitted
    | Denied
    | PeerJoined
    | PeerLeft
    | Presence
    | RelayedOffer
    | RelayedAnswer
    | RelayedIce
    | ChatPosted
    | MediaStateChanged
    | Caption
    | Status
    | Pong
    | CallEnded
    | Bye
    | ErrorNotice,
    Field(discriminator="type"),
]
