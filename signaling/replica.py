"""One process's replica of one visit's room, fed by the visit's event log."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from signaling.connection import Connection
from signaling.errors import BadEvent
from signaling.events import CaptionEvent, ExpireEvent, RoomEvent, apply_event, decode_event
from signaling.pubsub.base import EventLog
from signaling.room import RoomState
from signaling.room_model import RoomTransition
from signaling.server_messages import CloseReason

logger = logging.getLogger(__name__)

_LIVE_RETRY_S = 1.0

TransitionCallback = Callable[[str, RoomTransition], Awaitable[None]]
"""``on_transition(visit_id, transition)``: called by the process that caused it."""


class VisitReplica:
    """Applies a visit's events in log order and delivers the results to local peers.

    Its reader task replays the log from the start, then follows it; a second task
    follows the visit's live entries (captions), which change nothing. It stays attached
    while this process has a connection to the visit, an event of its own not yet
    applied, or a peer of its own within the grace period (so that the grace expiry is
    published, and its transition reported, by the process that lost the connection).
    """

    def __init__(
        self,
        *,
        visit_id: str,
        channel: str,
        room: RoomState,
        backend: EventLog,
        clock: Callable[[], float],
        publish: Callable[[str, RoomEvent], Awaitable[None]],
        make_expire: Callable[[], ExpireEvent],
        on_transition: TransitionCallback | None,
        on_detach: Callable[[VisitReplica], None],
        transition_timeout_s: float,
        expire_jitter_s: float,
        expire_backup_s: float,
    ) -> None:
        self.visit_id = visit_id
        self.channel = channel
        self.room = room
        self.connections: dict[str, Connection] = {}
        self.lingering: dict[str, str] = {}  # peer id -> our lost connection id, in grace
        self.pending: dict[str, asyncio.Future[None] | None] = {}  # our unapplied events
        self.detached = False
        self._backend = backend
        self._clock = clock
        self._publish = publish
        self._make_expire = make_expire
        self._on_transition = on_transition
        self._on_detach = on_detach
        self._transition_timeout_s = transition_timeout_s
        self._jitter = random.uniform(0.0, expire_jitter_s)
        self._backup_s = expire_backup_s
        self._busy = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._expire_task: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._live_reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the reader tasks."""
        self._reader = asyncio.create_task(self._read(), name=f"room:{self.visit_id}")
        self._reader.add_done_callback(self._reader_done)
        self._live_reader = asyncio.create_task(self._read_live(), name=f"live:{self.visit_id}")
        self._live_reader.add_done_callback(self._live_reader_done)

    def expect(self, event_id: str, *, wait: bool = False) -> asyncio.Future[None] | None:
        """Register an event this process is about to publish (and a future if ``wait``)."""
        future = asyncio.get_running_loop().create_future() if wait else None
        self.pending[event_id] = future
        return future

    def forget(self, event_id: str) -> None:
        """An event we registered was never published."""
        self.pending.pop(event_id, None)
        self.maybe_detach()

    def idle(self) -> bool:
        """Whether nothing keeps this replica attached any more."""
        return not (self.connections or self.pending or self.lingering)

    def maybe_detach(self) -> None:
        """Detach now if idle and the reader is not in the middle of an event."""
        if self.detached or self._busy or not self.idle():
            return
        self._detach()
        if self._reader is not None:
            self._reader.cancel()

    async def stop(self, reason: CloseReason, timeout_s: float) -> None:
        """Close local connections with ``reason`` and stop the reader and timers."""
        for connection in list(self.connections.values()):
            connection.abort(reason)
        self._detach()
        tasks = [
            t
            for t in (self._reader, self._live_reader, self._expire_task)
            if t is not None and not t.done()
        ]
        for task in tasks:
            task.cancel()
        if tasks:
            try:
                async with asyncio.timeout(timeout_s):
                    await asyncio.gather(*tasks, return_exceptions=True)
            except TimeoutError:
                logger.warning("room tasks of visit %s did not stop in time", self.visit_id)

    # --- the reader -----------------------------------------------------------------

    async def _read(self) -> None:
        async with self._backend.subscribe(self.channel, from_start=True) as entries:
            async for data in entries:
                try:
                    event = decode_event(data)
                except BadEvent:
                    logger.warning("skipping an undecodable event of visit %s", self.visit_id)
                    continue
                self._busy = True
                try:
                    await self._apply(event)
                finally:
                    self._busy = False
                if self.idle():
                    self._detach()
                    return
                # Entries can arrive in batches without a suspension point; let the
                # connections' sender tasks drain their outboxes between events.
                await asyncio.sleep(0)
        if self.room.ended:
            # The app deleted the log of the ended call: the connections are closing with
            # their call_ended message, which must not be cut short.
            self._detach()
            self._release_pending()
            return
        logger.warning("event log of visit %s ended", self.visit_id)
        self._close_all("backend_unavailable")

    async def _read_live(self) -> None:
        while not self.detached:
            try:
                async with self._backend.follow_live(self.channel) as entries:
                    async for data in entries:
                        self._deliver_live(data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning(
                    "live entries of visit %s broke (%s)", self.visit_id, type(exc).__name__
                )
            await asyncio.sleep(_LIVE_RETRY_S)

    def _deliver_live(self, data: bytes) -> None:
        try:
            event = decode_event(data)
        except BadEvent:
            logger.warning("skipping an undecodable live entry of visit %s", self.visit_id)
            return
        if not isinstance(event, CaptionEvent):
            return  # only captions travel live; anything else must come through the log
        for item in self.room.live_caption(event.caption):
            connection = self.connections.get(item.connection_id or "")
            if connection is not None:
                connection.deliver(item.message, item.close)

    async def _apply(self, event: RoomEvent) -> None:
        try:
            outbound = apply_event(self.room, event)
        except Exception:
            # A bug, not a client's doing; every replica hits it the same way, so skipping
            # the event keeps them in agreement, and the connections stay up.
            logger.exception("room of visit %s failed on a %s event", self.visit_id, event.kind)
            outbound = []
        transitions = self.room.drain_transitions()
        for item in outbound:
            connection = self.connections.get(item.connection_id or "")
            if connection is not None:
                connection.deliver(item.message, item.close)
        for peer_id, connection_id in list(self.lingering.items()):
            if self.room.connection_of(peer_id) != connection_id:
                del self.lingering[peer_id]  # gone, or resumed by a newer connection
        ours = event.event_id in self.pending
        future = self.pending.pop(event.event_id, None)
        if future is not None and not future.done():
            future.set_result(None)
        self._arm_timer()
        if ours and self._on_transition is not None:
            for transition in transitions:
                await self._report(transition)

    async def _report(self, transition: RoomTransition) -> None:
        assert self._on_transition is not None
        try:
            async with asyncio.timeout(self._transition_timeout_s):
                await self._on_transition(self.visit_id, transition)
        except Exception:
            logger.exception(
                "on_transition failed for %s of visit %s", transition.kind, self.visit_id
            )

    def _reader_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            logger.error("room reader of visit %s failed", self.visit_id, exc_info=error)
            self._close_all("backend_unavailable")

    def _live_reader_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("live reader of visit %s failed", self.visit_id, exc_info=task.exception())

    def _close_all(self, reason: CloseReason) -> None:
        self._detach()
        for connection in list(self.connections.values()):
            connection.abort(reason)
        self._release_pending()

    def _release_pending(self) -> None:
        for future in self.pending.values():
            if future is not None and not future.done():
                future.set_result(None)  # the waiter sees its connection closed
        self.pending.clear()

    def _detach(self) -> None:
        if self.detached:
            return
        self.detached = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        live = self._live_reader
        if live is not None and live is not asyncio.current_task():
            live.cancel()
        self._on_detach(self)

    # --- deadlines ------------------------------------------------------------------

    def _arm_timer(self) -> None:
        """(Re)schedule an expire event for the room's next deadline."""
        deadline = self.room.next_deadline()
        if deadline == self._timer_at and self._timer is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is None or self.detached:
            return
        # Every replica arms a timer, so a crashed process's peers still expire. The one
        # that lost a connection fires first; the others wait a little longer, as backup,
        # and the jitter keeps backups from all publishing at once.
        backup = 0.0 if self.lingering else self._backup_s
        delay = max(0.0, deadline - self._clock()) + backup + self._jitter
        self._timer = asyncio.get_running_loop().call_later(delay, self._deadline_reached)

    def _deadline_reached(self) -> None:
        self._timer = None
        self._timer_at = None
        if self.detached:
            return
        deadline = self.room.next_deadline()
        if deadline is None:
            return
        if deadline > self._clock() or (self._expire_task and not self._expire_task.done()):
            self._arm_timer()
            return
        self._expire_task = asyncio.create_task(self._publish_expire())

    async def _publish_expire(self) -> None:
        event = self._make_expire()
        self.expect(event.event_id)
        try:
            await self._publish(self.channel, event)
        except Exception:
            logger.exception("could not publish an expire event for visit %s", self.visit_id)
            self.forget(event.event_id)
            self._timer_at = None
            if not self.detached:
                self._timer = asyncio.get_running_loop().call_later(1.0, self._deadline_reached)
