"""Membership bookkeeping of a room: who is present, the queue, views and helpers.

This is the half of :class:`signaling.room.RoomState` that answers questions and builds
messages; the inputs that change the room live in :mod:`signaling.room`.

Only lists and insertion-ordered dicts are iterated, never sets, because set order of
strings differs between processes (hash randomisation) and replicas must agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from signaling.messages import error_notice
from signaling.peers import STAFF_ROLES, PeerSummary
from signaling.room_model import Member, Outbound, RoomTransition, SessionEnd, TransitionKind
from signaling.server_messages import (
    Bye,
    CloseReason,
    ErrorCode,
    PeerLeft,
    Presence,
    QueuePosition,
    ServerMessage,
    Welcome,
)

_MAX_TRANSITIONS = 1024


@dataclass(frozen=True, slots=True)
class RoomLimits:
    """Timeouts and capacities of a room; every replica of a room must use the same."""

    grace_s: float = 30.0
    heartbeat_timeout_s: float = 60.0
    max_in_room: int = 16
    max_waiting: int = 32


class Roster:
    """Present peers, the waiting queue and the transitions log of one visit's room."""

    def __init__(self, visit_id: str, limits: RoomLimits | None = None) -> None:
        self.visit_id = visit_id
        self.limits = limits or RoomLimits()
        self._members: dict[str, Member] = {}
        self._queue: list[str] = []
        self._now = 0.0
        self._ended_by: str | None = None
        self._admitted_at: dict[str, float] = {}
        self._transitions: list[RoomTransition] = []

    # --- read-only views ------------------------------------------------------------

    @property
    def ended(self) -> bool:
        """Whether a clinician ended the call; the room then refuses every join."""
        return self._ended_by is not None

    @property
    def ended_by(self) -> str | None:
        """The clinician who ended the call, if it has ended."""
        return self._ended_by

    @property
    def now(self) -> float:
        """The latest time the room has seen (inputs never move it backwards)."""
        return self._now

    def waiting(self) -> list[PeerSummary]:
        """Waiting peers in queue order."""
        return [self._members[peer_id].summary() for peer_id in self._queue]

    def in_room(self) -> list[PeerSummary]:
        """Peers in the call, in the order they entered it."""
        return [m.summary() for m in self._members.values() if m.state == "in_room"]

    def peer(self, peer_id: str) -> PeerSummary | None:
        """A present peer's summary, or ``None`` if it is not (or no longer) in the visit."""
        member = self._members.get(peer_id)
        return member.summary() if member else None

    def connection_of(self, peer_id: str) -> str | None:
        """The id of the connection that currently speaks for ``peer_id``."""
        member = self._members.get(peer_id)
        return member.connection_id if member else None

    def is_admitted(self, peer_id: str) -> bool:
        """Whether a clinician has admitted this peer at some point of the visit."""
        return peer_id in self._admitted_at

    def admitted_at(self, peer_id: str) -> float | None:
        """When this peer was (last) admitted, if ever."""
        return self._admitted_at.get(peer_id)

    def clinician_present(self) -> bool:
        """Whether a clinician is in the room (online or within the grace period)."""
        return any(m.info.role in STAFF_ROLES for m in self._in_room_members())

    def next_deadline(self) -> float | None:
        """The earliest time at which :meth:`expire` would change something, if any."""
        deadlines: list[float] = []
        for member in self._members.values():
            if member.online:
                deadlines.append(member.last_seen + self.limits.heartbeat_timeout_s)
            elif member.offline_since is not None:
                deadlines.append(member.offline_since + self.limits.grace_s)
        return min(deadlines, default=None)

    def drain_transitions(self) -> list[RoomTransition]:
        """Return and forget the transitions recorded since the last call."""
        transitions, self._transitions = self._transitions, []
        return transitions

    def _remove(self, member: Member, reason: SessionEnd, now: float) -> list[Outbound]:
        """End a member's session: tell it (bye), then tell whoever could see it."""
        out = [self._to(member, Bye(reason=reason), close=reason)]
        out += self._drop(member, reason)
        self._record("left", member, now, reason=reason)
        return out

    def _drop(self, member: Member, reason: SessionEnd | Literal["denied"]) -> list[Outbound]:
        leaving = PeerLeft(peer=member.summary(), reason=reason)
        out = self._tell_viewers(member, leaving)
        del self._members[member.info.peer_id]
        if member.state == "waiting":
            self._queue.remove(member.info.peer_id)
        return out

    def _expire(self, now: float) -> list[Outbound]:
        out: list[Outbound] = []
        heartbeat = self.limits.heartbeat_timeout_s
        for member in list(self._members.values()):
            if member.online and member.last_seen + heartbeat <= now:
                member.online = False
                member.offline_since = member.last_seen + heartbeat
                out += self._tell_viewers(
                    member, Presence(peer_id=member.info.peer_id, online=False)
                )
        for member in list(self._members.values()):
            since = member.offline_since
            if not member.online and since is not None and since + self.limits.grace_s <= now:
                out += self._remove(member, "expired", now)
        return out

    # --- helpers --------------------------------------------------------------------

    def _advance(self, now: float) -> float:
        # Replicas apply events stamped by different processes' clocks; never go back.
        if math.isfinite(now) and now > self._now:
            self._now = now
        return self._now

    def _in_room_members(self) -> list[Member]:
        return [m for m in self._members.values() if m.state == "in_room"]

    def _viewers(self, subject: Member) -> list[Member]:
        """Who is told about ``subject``: the room if it is in the room, else clinicians."""
        others = [m for m in self._in_room_members() if m is not subject]
        if subject.state == "in_room":
            return others
        return [m for m in others if m.info.role in STAFF_ROLES]

    def _visible_to(self, viewer: Member) -> list[PeerSummary]:
        """The peers ``viewer`` may know about (waiting peers see nobody)."""
        if viewer.state != "in_room":
            return []
        visible = [m.summary() for m in self._in_room_members() if m is not viewer]
        if viewer.info.role in STAFF_ROLES:
            visible += [self._members[p].summary() for p in self._queue]
        return visible

    def _tell_viewers(self, subject: Member, message: ServerMessage) -> list[Outbound]:
        return [self._to(m, message) for m in self._viewers(subject)]

    def _welcome(self, member: Member) -> Welcome:
        return Welcome(
            peer_id=member.info.peer_id,
            role=member.info.role,
            resume_token=member.token,
            state=member.state,
            peers=self._visible_to(member),
            ping_interval_s=self.limits.heartbeat_timeout_s / 3,
        )

    def _queue_snapshot(self) -> dict[str, tuple[int, bool]]:
        present = self.clinician_present()
        return {peer_id: (i + 1, present) for i, peer_id in enumerate(self._queue)}

    def _queue_updates(self, before: dict[str, tuple[int, bool]]) -> list[Outbound]:
        """Send a ``queue`` message to each waiting peer whose place or outlook changed."""
        out: list[Outbound] = []
        for peer_id, (position, present) in self._queue_snapshot().items():
            if before.get(peer_id) != (position, present):
                message = QueuePosition(position=position, clinician_present=present)
                out.append(self._to(self._members[peer_id], message))
        return out

    def _to(
        self, member: Member, message: ServerMessage, *, close: CloseReason | None = None
    ) -> Outbound:
        return Outbound(member.info.peer_id, message, member.connection_id, close=close)

    def _error(self, member: Member, code: ErrorCode, text: str) -> Outbound:
        return self._to(member, error_notice(code, text))

    def _record(
        self,
        kind: TransitionKind,
        member: Member,
        now: float,
        *,
        by: str | None = None,
        reason: str | None = None,
    ) -> None:
        if len(self._transitions) >= _MAX_TRANSITIONS:
            del self._transitions[0]  # nobody drains (a bare RoomState): keep it bounded
        self._transitions.append(
            RoomTransition(
                kind=kind,
                visit_id=self.visit_id,
                peer_id=member.info.peer_id,
                role=member.info.role,
                at=now,
                by=by,
                reason=reason,
            )
        )

    @staticmethod
    def _refusal(peer_id: str, connection: str, code: ErrorCode, text: str) -> Outbound:
        close: CloseReason = "room_ended" if code == "room_ended" else "room_full"
        return Outbound(peer_id, error_notice(code, text), connection, close=close)
