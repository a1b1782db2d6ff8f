"""The room hub: rooms replicated over a shared event log, served to local websockets.

Several server processes can serve one visit. Every input of a room (a join, a client
message the room accepts, a lost connection, a deadline, an injected status) becomes a
room event stamped with the publishing process's clock and is *appended* to the visit's
channel of the :class:`~signaling.pubsub.EventLog`; captions are only *published* live.
Every process with a local peer of the visit runs a :class:`~signaling.room.RoomState`
replica that applies the channel's events in log order (replaying from the start when it
first attaches) and delivers only the messages addressed to its own connections. The
state machine is deterministic, so the replicas agree.

The app's websocket endpoint is a thin pump around :meth:`RoomHub.connect`::

    hello = parse_hello(first_frame)
    async with hub.connect(visit_id, peer, send, hello.resume_token) as connection:
        ...  # submit() each parsed frame; stop when connection.wait_closed() returns
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypedDict

from signaling.connection import Connection, SendCallback
from signaling.errors import (
    BackendError,
    BackendUnavailable,
    HubClosed,
    NotAdmitted,
    RoomEnded,
    RoomFull,
)
from signaling.events import (
    CaptionEvent,
    DisconnectEvent,
    ExpireEvent,
    JoinEvent,
    MessageEvent,
    RoomEvent,
    StatusEvent,
    encode_event,
)
from signaling.messages import ClientMessage
from signaling.peers import PeerInfo
from signaling.pubsub.base import EventLog
from signaling.replica import TransitionCallback, VisitReplica
from signaling.room import RoomState
from signaling.room_model import StatusAudience
from signaling.roster import RoomLimits
from signaling.server_messages import Caption, Status

logger = logging.getLogger(__name__)

_VISIT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class _Stamp(TypedDict):
    """The fields every event carries: a unique id, this hub as origin, and the time."""

    event_id: str
    origin: str
    now: float


class RoomHub:
    """Serves visits' rooms to this process's websocket connections.

    ``backend`` is a connected event log (the app owns it: connect it before and close it
    after the hub). ``grace_s`` is how long a lost peer keeps its place,
    ``heartbeat_timeout_s`` how long a peer may stay silent (clients ``ping`` every
    ``heartbeat_timeout_s / 3``) before it counts as lost; every process serving the
    same visits must use the same room limits. ``clock`` gives wall-clock seconds (it
    stamps events, so processes' clocks should be NTP-synchronised). ``on_transition``
    is awaited (bounded by ``transition_timeout_s``) for each transition the app may
    persist, only in the process whose event caused it. Deadlines (grace, heartbeat)
    are published by the process that lost the connection; other processes follow as
    backup ``expire_backup_s`` later (plus up to ``expire_jitter_s``).

    What enters the visit's log is kept small: a peer not in the call may only send
    ``WAITING_MESSAGES`` (anything else raises :class:`~signaling.errors.NotAdmitted`
    before it is published; after ``max_refused`` such refusals the connection's
    ``submit`` raises :class:`~signaling.errors.RefusedRepeatedly`), and captions are
    published live only (:meth:`EventLog.publish`), never logged.
    """

    def __init__(
        self,
        backend: EventLog,
        *,
        grace_s: float = 30.0,
        heartbeat_timeout_s: float = 60.0,
        max_in_room: int = 16,
        max_waiting: int = 32,
        clock: Callable[[], float] = time.time,
        on_transition: TransitionCallback | None = None,
        channel_prefix: str = "visit:",
        join_timeout_s: float = 10.0,
        publish_timeout_s: float = 5.0,
        send_timeout_s: float = 10.0,
        outbox_size: int = 256,
        message_rate: float = 20.0,
        message_burst: float = 100.0,
        transition_timeout_s: float = 10.0,
        expire_jitter_s: float = 0.5,
        expire_backup_s: float = 2.0,
        max_refused: int = 20,
        on_slow_consumer: Callable[[], None] | None = None,
    ) -> None:
        self.hub_id = uuid.uuid4().hex
        # Told each time a connection is closed because its outbox filled or a send stalled.
        self.on_slow_consumer = on_slow_consumer
        self.limits = RoomLimits(
            grace_s=grace_s,
            heartbeat_timeout_s=heartbeat_timeout_s,
            max_in_room=max_in_room,
            max_waiting=max_waiting,
        )
        self._backend = backend
        self._clock = clock
        self._on_transition = on_transition
        self._channel_prefix = channel_prefix
        self._join_timeout_s = join_timeout_s
        self._publish_timeout_s = publish_timeout_s
        self._send_timeout_s = send_timeout_s
        self._outbox_size = outbox_size
        self._message_rate = message_rate
        self._message_burst = message_burst
        self._transition_timeout_s = transition_timeout_s
        self._expire_jitter_s = expire_jitter_s
        self._expire_backup_s = expire_backup_s
        self._max_refused = max_refused
        self._replicas: dict[str, VisitReplica] = {}
        self._closed = False

    # --- public API -----------------------------------------------------------------

    @asynccontextmanager
    async def connect(
        self,
        visit_id: str,
        peer: PeerInfo,
        send: SendCallback,
        resume_token: str | None = None,
    ) -> AsyncIterator[Connection]:
        """Join ``peer`` to the visit; the context is the connection's lifetime.

        Returns once the join is applied (the ``welcome`` is on its way through
        ``send``). Raises :class:`~signaling.errors.RoomEnded` or
        :class:`~signaling.errors.RoomFull` (after the client got an ``error``
        message), :class:`~signaling.errors.BackendUnavailable` or
        :class:`~signaling.errors.HubClosed`. Leaving the context without the room having
        ended the session counts as a lost connection: the peer's grace period starts.
        """
        if self._closed:
            raise HubClosed("the room hub is closed")
        self._channel(visit_id)  # validates the id before anything is set up
        replica = self._replica_for(visit_id)

        async def submit(connection: Connection, message: ClientMessage) -> None:
            await self._submit(replica, connection, message)

        connection = Connection(
            visit_id=visit_id,
            peer=peer,
            connection_id=uuid.uuid4().hex,
            send=send,
            submit=submit,
            outbox_size=self._outbox_size,
            send_timeout_s=self._send_timeout_s,
            rate=self._message_rate,
            burst=self._message_burst,
            max_refused=self._max_refused,
            on_slow=self.on_slow_consumer,
        )
        replica.connections[connection.connection_id] = connection
        connection.start()
        published = False
        try:
            applied = await self._publish_join(replica, connection, resume_token)
            # From here on the join may be applied (even late), so leaving must publish
            # a disconnect unless the room itself ended the session.
            published = True
            await self._await_join(connection, applied)
            yield connection
        finally:
            await self._leave(replica, connection, published)

    async def inject_caption(self, visit_id: str, caption: Caption) -> None:
        """Show a caption to everybody in the visit's room now (any process may call).

        Captions go to live followers only and never into the visit's log: partials are
        worth nothing a moment later, and what outlives the display is the app's to
        decide (it stores finals only with the patient's consent).
        """
        event = CaptionEvent(**self._stamp(), caption=caption)
        await self._publish(self._channel(visit_id), event, live=True)

    async def inject_status(
        self,
        visit_id: str,
        event: str,
        detail: str | None = None,
        *,
        audience: StatusAudience = "in_room",
    ) -> None:
        """Publish an app-level status event (e.g. ``urgent_intake`` to ``clinicians``)."""
        status = Status(event=event, detail=detail)
        await self._publish(
            self._channel(visit_id), StatusEvent(**self._stamp(), status=status, audience=audience)
        )

    def room(self, visit_id: str) -> RoomState | None:
        """This process's replica of a visit's room, if attached (treat as read-only)."""
        replica = self._replicas.get(visit_id)
        return replica.room if replica is not None else None

    def local_connections(self) -> int:
        """Websocket connections of this process, in every visit it follows."""
        return sum(len(replica.connections) for replica in self._replicas.values())

    def rooms_in_call(self) -> int:
        """Visits this process follows with a call under way (two or more in the room)."""
        return sum(1 for replica in self._replicas.values() if len(replica.room.in_room()) >= 2)

    def attached_visits(self) -> list[str]:
        """Visits this process currently follows."""
        return list(self._replicas)

    async def delete_visit_log(self, visit_id: str) -> None:
        """Drop a finished visit's event log (once the call ended and its transitions are
        stored): replicas still attached stop quietly, and a later join starts afresh, so
        the app must refuse joins to the ended visit itself."""
        await self._backend.delete(self._channel(visit_id))

    async def close(self, timeout_s: float = 5.0) -> None:
        """Close every local connection (reason ``hub_closed``) and stop all tasks."""
        self._closed = True
        for replica in list(self._replicas.values()):
            await replica.stop("hub_closed", timeout_s)
        self._replicas.clear()

    # --- internals ------------------------------------------------------------------

    def _replica_for(self, visit_id: str) -> VisitReplica:
        replica = self._replicas.get(visit_id)
        if replica is not None and not replica.detached:
            return replica
        replica = VisitReplica(
            visit_id=visit_id,
            channel=self._channel(visit_id),
            room=RoomState(visit_id, self.limits),
            backend=self._backend,
            clock=self._clock,
            publish=self._publish,
            make_expire=lambda: ExpireEvent(**self._stamp()),
            on_transition=self._on_transition,
            on_detach=self._detached,
            transition_timeout_s=self._transition_timeout_s,
            expire_jitter_s=self._expire_jitter_s,
            expire_backup_s=self._expire_backup_s,
        )
        self._replicas[visit_id] = replica
        replica.start()
        return replica

    def _detached(self, replica: VisitReplica) -> None:
        if self._replicas.get(replica.visit_id) is replica:
            del self._replicas[replica.visit_id]

    async def _publish_join(
        self, replica: VisitReplica, connection: Connection, resume_token: str | None
    ) -> asyncio.Future[None]:
        """Publish the join; return a future resolved when the replica has applied it."""
        event = JoinEvent(
            **self._stamp(),
            peer=connection.peer,
            connection_id=connection.connection_id,
            token=secrets.token_urlsafe(24),
            resume_token=resume_token,
        )
        applied = replica.expect(event.event_id, wait=True)
        assert applied is not None
        try:
            await self._publish(replica.channel, event)
        except BaseException:
            replica.forget(event.event_id)
            raise
        return applied

    async def _await_join(self, connection: Connection, applied: asyncio.Future[None]) -> None:
        """Wait until the join is applied; raise if the room or the log refused it."""
        try:
            async with asyncio.timeout(self._join_timeout_s):
                await applied
        except TimeoutError:
            raise BackendUnavailable("the visit's event log did not deliver the join") from None
        if connection.close_reason == "backend_unavailable":
            raise BackendUnavailable("lost the visit's event log while joining")
        refusal = connection.final_reason
        if refusal in ("room_ended", "room_full"):
            try:  # let the client read the error before the adapter closes the socket
                async with asyncio.timeout(self._send_timeout_s):
                    await connection.wait_closed()
            except TimeoutError:
                pass
            if refusal == "room_ended":
                raise RoomEnded("the call of this visit has ended")
            raise RoomFull("the room of this visit is full")

    async def _leave(self, replica: VisitReplica, connection: Connection, published: bool) -> None:
        peer_id = connection.peer.peer_id
        event: DisconnectEvent | None = None
        if published and not connection.ended_by_room:
            event = DisconnectEvent(
                **self._stamp(), peer_id=peer_id, connection_id=connection.connection_id
            )
            if not replica.detached:
                # Registered before any await, so the replica cannot detach in between:
                # this process publishes the grace expiry of the connection it lost.
                replica.expect(event.event_id)
                replica.lingering[peer_id] = connection.connection_id
        replica.connections.pop(connection.connection_id, None)
        await connection.stop()
        if event is not None:
            try:
                await self._publish(replica.channel, event)
            except Exception as exc:
                # Heartbeat expiry on the other replicas will notice the peer is gone.
                logger.warning("could not publish a disconnect: %s", type(exc).__name__)
                replica.lingering.pop(peer_id, None)
                replica.forget(event.event_id)
        replica.maybe_detach()

    async def _submit(
        self, replica: VisitReplica, connection: Connection, message: ClientMessage
    ) -> None:
        peer_id = connection.peer.peer_id
        if not replica.room.accepts(peer_id, message, connection_id=connection.connection_id):
            raise NotAdmitted()
        event = MessageEvent(
            **self._stamp(),
            peer_id=connection.peer.peer_id,
            connection_id=connection.connection_id,
            message=message,
        )
        if not replica.detached:
            replica.expect(event.event_id)
        try:
            await self._publish(replica.channel, event)
        except BaseException:
            replica.forget(event.event_id)
            raise

    async def _publish(self, channel: str, event: RoomEvent, *, live: bool = False) -> None:
        data = encode_event(event)
        try:
            async with asyncio.timeout(self._publish_timeout_s):
                if live:
                    await self._backend.publish(channel, data)
                else:
                    await self._backend.append(channel, data)
        except TimeoutError:
            raise BackendUnavailable("the event log did not accept an event in time") from None
        except BackendUnavailable:
            raise
        except BackendError as exc:
            # Whatever the log refused (out of memory, closed...), to the app it is down.
            raise BackendUnavailable(f"the event log refused an event: {exc}") from exc

    def _stamp(self) -> _Stamp:
        return {"event_id": uuid.uuid4().hex, "origin": self.hub_id, "now": self._clock()}

    def _channel(self, visit_id: str) -> str:
        if not _VISIT_ID.match(visit_id):
            raise ValueError("visit ids have 1-128 characters of [A-Za-z0-9_.:-]")
        return self._channel_prefix + visit_id
