"""Small helpers for driving RoomState in tests."""

from __future__ import annotations

from collections.abc import Sequence

from signaling import Outbound, PeerInfo, Role, RoomState, ServerMessage

CLINICIAN = PeerInfo(peer_id="dr-1", role="clinician", name="Dr Grey")
PATIENT = PeerInfo(peer_id="pt-1", role="patient", name="Pat One")
PATIENT2 = PeerInfo(peer_id="pt-2", role="patient", name="Pat Two")


def peer(peer_id: str, role: Role = "patient", name: str | None = None) -> PeerInfo:
    return PeerInfo(peer_id=peer_id, role=role, name=name or peer_id.title())


def to(out: Sequence[Outbound], peer_id: str) -> list[ServerMessage]:
    """The messages addressed to one peer, in order."""
    return [o.message for o in out if o.to == peer_id]


def kinds(out: Sequence[Outbound], peer_id: str) -> list[str]:
    return [m.type for m in to(out, peer_id)]


def recipients(out: Sequence[Outbound]) -> list[str]:
    return sorted({o.to for o in out})


def join(
    room: RoomState,
    who: PeerInfo,
    now: float,
    *,
    token: str | None = None,
    resume_token: str | None = None,
) -> list[Outbound]:
    """Join with a token derived from the peer id and time (tests only)."""
    token = token or f"tok-{who.peer_id}-{now}"
    return room.join(who, now, token=token, resume_token=resume_token)
