"""The pure state machine of one visit's room and waiting queue.

``RoomState`` does no I/O and never reads a clock: every input carries ``now``. Given the
same inputs in the same order it produces the same outputs, which is what lets every
server process run its own replica of a room from a shared event log (see
:mod:`signaling.hub`). Nothing a client can send makes it raise: a rule violation is
answered with an ``error`` message to the offender alone.

Internally only lists and insertion-ordered dicts are iterated, never sets, because set
order of strings differs between processes (hash randomisation) and replicas must agree.
"""

from __future__ import annotations

import hmac

from signaling.messages import (
    WAITING_MESSAGES,
    Admit,
    ClientMessage,
    Deny,
    EndCall,
    Hello,
    Leave,
    Ping,
    SendAnswer,
    SendChat,
    SendIce,
    SendOffer,
    SetMediaState,
    error_notice,
)
from signaling.peers import STAFF_ROLES, PeerInfo, PeerState
from signaling.room_model import (
    Member,
    Outbound,
    StatusAudience,
)
from signaling.roster import Roster
from signaling.server_messages import (
    Admitted,
    Bye,
    CallEnded,
    Caption,
    ChatPosted,
    Denied,
    ErrorCode,
    MediaStateChanged,
    PeerJoined,
    Pong,
    Presence,
    QueuePosition,
    RelayedAnswer,
    RelayedIce,
    RelayedOffer,
    ServerMessage,
    Status,
)

_MAX_ADMISSION_RECORDS = 256


class RoomState(Roster):
    """One visit's room: who waits, who is in the call, and what each of them is told.

    Inputs are :meth:`join`, :meth:`handle`, :meth:`disconnect`, :meth:`expire`,
    :meth:`inject_caption` and :meth:`inject_status`; each returns the messages to send,
    each addressed to a peer id and to the connection that peer had at that moment.
    Transitions the app may want to persist are collected for :meth:`drain_transitions`.
    """

    # --- inputs ---------------------------------------------------------------------

    def join(
        self,
        peer: PeerInfo,
        now: float,
        *,
        token: str,
        resume_token: str | None = None,
        connection_id: str | None = None,
    ) -> list[Outbound]:
        """A peer connects. ``token`` is the fresh resume token to issue to it.

        With a ``resume_token`` matching the peer's current session (still present,
        possibly within its grace period) the peer keeps its place. Otherwise any older
        session of the same peer is dropped and the peer joins afresh: clinicians enter
        the room, everybody else joins the waiting queue. ``connection_id`` identifies
        the new connection and defaults to ``token``.
        """
        connection = connection_id or token
        now = self._advance(now)
        out = self._expire(now)
        before = self._queue_snapshot()
        if self.ended:
            out.append(self._refusal(peer.peer_id, connection, "room_ended", "the call has ended"))
            return out
        existing = self._members.get(peer.peer_id)
        if existing is not None:
            if (
                resume_token is not None
                and existing.info.role == peer.role
                and hmac.compare_digest(existing.token.encode(), resume_token.encode())
            ):
                out += self._resume(existing, peer, now, token, connection)
                return out + self._queue_updates(before)
            out += self._remove(existing, "replaced", now)
        enters_room = peer.role in STAFF_ROLES
        if enters_room and len(self._in_room_members()) >= self.limits.max_in_room:
            out.append(self._refusal(peer.peer_id, connection, "room_full", "the room is full"))
            return out + self._queue_updates(before)
        if not enters_room and len(self._queue) >= self.limits.max_waiting:
            out.append(self._refusal(peer.peer_id, connection, "room_full", "the queue is full"))
            return out + self._queue_updates(before)
        state: PeerState = "in_room" if enters_room else "waiting"
        member = Member(info=peer, state=state, connection_id=connection, token=token)
        member.last_seen = now
        self._members[peer.peer_id] = member
        if not enters_room:
            self._queue.append(peer.peer_id)
        out.append(self._to(member, self._welcome(member)))
        out += self._tell_viewers(member, PeerJoined(peer=member.summary()))
        self._record("entered_room" if enters_room else "waiting", member, now)
        return out + self._queue_updates(before)

    def handle(
        self, peer_id: str, message: ClientMessage, now: float, *, connection_id: str | None = None
    ) -> list[Outbound]:
        """Apply one client message from ``peer_id`` (sent over ``connection_id``)."""
        now = self._advance(now)
        out = self._expire(now)
        before = self._queue_snapshot()
        member = self._members.get(peer_id)
        if member is None:
            code: ErrorCode = "room_ended" if self.ended else "not_joined"
            text = "the call has ended" if self.ended else "join the visit first"
            out.append(Outbound(peer_id, error_notice(code, text), connection_id))
            return out
        if connection_id is not None and connection_id != member.connection_id:
            notice = error_notice("replaced", "another connection has taken over this session")
            out.append(Outbound(peer_id, notice, connection_id, close="replaced"))
            return out
        member.last_seen = now
        if not member.online:
            member.online = True
            member.offline_since = None
            out += self._tell_viewers(member, Presence(peer_id=peer_id, online=True))
        out += self._dispatch(member, message, now)
        return out + self._queue_updates(before)

    def disconnect(
        self, peer_id: str, now: float, *, connection_id: str | None = None
    ) -> list[Outbound]:
        """The peer's connection was lost: keep its place for the grace period."""
        now = self._advance(now)
        out = self._expire(now)
        member = self._members.get(peer_id)
        if member is None or (connection_id is not None and connection_id != member.connection_id):
            return out  # an old, replaced connection closing: nothing changes
        if member.online:
            member.online = False
            member.offline_since = now
            out += self._tell_viewers(member, Presence(peer_id=peer_id, online=False))
        return out

    def expire(self, now: float) -> list[Outbound]:
        """Treat silent peers as disconnected and remove peers whose grace period is over."""
        now = self._advance(now)
        before = self._queue_snapshot()
        return self._expire(now) + self._queue_updates(before)

    def inject_caption(self, caption: Caption, now: float) -> list[Outbound]:
        """A server-side caption segment, fanned out to everybody in the room."""
        now = self._advance(now)
        out = self._expire(now)
        out += [self._to(m, caption) for m in self._in_room_members()]
        return out

    def inject_status(
        self,
        status: Status,
        now: float,
        *,
        audience: StatusAudience = "in_room",
    ) -> list[Outbound]:
        """A server-side status event for the room, everybody, or clinicians only."""
        now = self._advance(now)
        out = self._expire(now)
        for member in self._members.values():
            in_room = member.state == "in_room"
            staff = member.info.role in STAFF_ROLES
            if (
                audience == "everyone"
                or (audience == "in_room" and in_room)
                or (audience == "clinicians" and in_room and staff)
            ):
                out.append(self._to(member, status))
        return out

    # --- questions asked before an input is logged -----------------------------------

    def accepts(
        self, peer_id: str, message: ClientMessage, *, connection_id: str | None = None
    ) -> bool:
        """Whether ``message`` from ``peer_id`` may enter the visit's log at all.

        Only a peer in the call, over its current connection, may send everything; anybody
        else (waiting, gone, replaced, or the call over) only ``WAITING_MESSAGES``. Asked
        of the local replica before publishing, which changes nothing: the peer learns
        it was admitted from that same replica, so it is never behind for that peer.
        """
        if isinstance(message, WAITING_MESSAGES):
            return True
        member = self._members.get(peer_id)
        if member is None or member.state != "in_room":
            return False
        return connection_id is None or connection_id == member.connection_id

    def live_caption(self, caption: Caption) -> list[Outbound]:
        """A caption that bypasses the log: for the peers in the call now, changing nothing.

        Unlike the other inputs it neither advances the room's clock nor expires anybody,
        since replicas each see live entries at their own moment and must still agree.
        """
        return [self._to(m, caption) for m in self._in_room_members()]

    # --- message dispatch -----------------------------------------------------------

    def _dispatch(self, member: Member, message: ClientMessage, now: float) -> list[Outbound]:
        if isinstance(message, Ping):
            return [self._to(member, Pong())]
        if isinstance(message, Hello):
            return [self._error(member, "already_joined", "this connection has already joined")]
        if isinstance(message, Leave):
            return self._remove(member, "left", now)
        if isinstance(message, SetMediaState):
            member.audio, member.video = message.audio, message.video
            changed = MediaStateChanged(
                peer_id=member.info.peer_id, audio=message.audio, video=message.video
            )
            return self._tell_viewers(member, changed) if member.state == "in_room" else []
        if member.state != "in_room":
            return [self._error(member, "not_in_room", "wait until you are admitted")]
        if isinstance(message, Admit | Deny | EndCall) and member.info.role not in STAFF_ROLES:
            return [self._error(member, "not_allowed", "only a clinician can do that")]
        if isinstance(message, SendChat):
            chat = ChatPosted(
                from_=member.info.peer_id, name=member.info.name, text=message.text, at=now
            )
            return [self._to(m, chat) for m in self._in_room_members()]
        if isinstance(message, SendOffer | SendAnswer | SendIce):
            return self._relay(member, message)
        if isinstance(message, Admit):
            return self._admit(member, message.peer_id, now)
        if isinstance(message, Deny):
            return self._deny(member, message, now)
        return self._end_call(member, now)

    def _relay(self, sender: Member, message: SendOffer | SendAnswer | SendIce) -> list[Outbound]:
        target = self._members.get(message.to)
        if target is None or target.state != "in_room" or target is sender:
            return [self._error(sender, "unknown_peer", "that peer is not in the room")]
        if not target.online:
            return [self._error(sender, "peer_unavailable", "that peer is reconnecting")]
        relayed: ServerMessage
        origin = sender.info.peer_id
        if isinstance(message, SendOffer):
            relayed = RelayedOffer(from_=origin, sdp=message.sdp)
        elif isinstance(message, SendAnswer):
            relayed = RelayedAnswer(from_=origin, sdp=message.sdp)
        else:
            relayed = RelayedIce(from_=origin, candidate=message.candidate)
        return [self._to(target, relayed)]

    def _admit(self, clinician: Member, peer_id: str, now: float) -> list[Outbound]:
        target = self._members.get(peer_id)
        if target is None or target.state != "waiting":
            return [self._error(clinician, "not_waiting", "that peer is not waiting")]
        if len(self._in_room_members()) >= self.limits.max_in_room:
            return [self._error(clinician, "room_full", "the room is full")]
        self._queue.remove(peer_id)
        target.state = "in_room"
        self._members[peer_id] = self._members.pop(peer_id)  # keep room order = entry order
        self._admitted_at.pop(peer_id, None)
        if len(self._admitted_at) >= _MAX_ADMISSION_RECORDS:
            self._admitted_at.pop(next(iter(self._admitted_at)))
        self._admitted_at[peer_id] = now
        out = [self._to(target, Admitted(peers=self._visible_to(target)))]
        out += self._tell_viewers(target, PeerJoined(peer=target.summary()))
        self._record("admitted", target, now, by=clinician.info.peer_id)
        return out

    def _deny(self, clinician: Member, message: Deny, now: float) -> list[Outbound]:
        target = self._members.get(message.peer_id)
        if target is None or target.state != "waiting":
            return [self._error(clinician, "not_waiting", "that peer is not waiting")]
        out = [self._to(target, Denied(reason=message.reason), close="denied")]
        out += self._drop(target, "denied")
        self._record("denied", target, now, by=clinician.info.peer_id, reason=message.reason)
        return out

    def _end_call(self, clinician: Member, now: float) -> list[Outbound]:
        ended = CallEnded(by=clinician.info.peer_id)
        out = [self._to(m, ended, close="call_ended") for m in self._members.values()]
        self._members.clear()
        self._queue.clear()
        self._ended_by = clinician.info.peer_id
        self._record("call_ended", clinician, now, by=clinician.info.peer_id)
        return out

    # --- membership -----------------------------------------------------------------

    def _resume(
        self, member: Member, peer: PeerInfo, now: float, token: str, connection: str
    ) -> list[Outbound]:
        out: list[Outbound] = []
        if member.online:
            out.append(self._to(member, Bye(reason="replaced"), close="replaced"))
        member.info = peer
        member.token = token
        member.connection_id = connection
        member.online = True
        member.offline_since = None
        member.last_seen = now
        out.append(self._to(member, self._welcome(member)))
        if member.state == "waiting":
            position = self._queue.index(member.info.peer_id) + 1
            out.append(
                self._to(
                    member,
                    QueuePosition(position=position, clinician_present=self.clinician_present()),
                )
            )
        # Always announce: even if nobody saw it go offline, its media must be renegotiated.
        out += self._tell_viewers(member, Presence(peer_id=peer.peer_id, online=True))
        return out
