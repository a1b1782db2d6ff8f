"""One local websocket's handle in the room hub: a bounded outbox and its sender task."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from signaling.errors import ConnectionClosed, NotAdmitted, RateLimited, RefusedRepeatedly
from signaling.messages import ClientMessage
from signaling.peers import PeerInfo
from signaling.server_messages import CloseReason, ServerMessage

logger = logging.getLogger(__name__)

SendCallback = Callable[[ServerMessage], Awaitable[None]]
"""How the hub hands a message to the app's websocket (e.g. ``ws.send_text``)."""

ROOM_CLOSE_REASONS: tuple[CloseReason, ...] = (
    "left",
    "denied",
    "call_ended",
    "replaced",
    "expired",
    "room_ended",
    "room_full",
)
"""Reasons for which the room itself ended the session (no grace period follows)."""


class _TokenBucket:
    """Allow ``rate`` messages a second on average, in bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp: float | None = None

    def take(self, now: float) -> bool:
        if self._stamp is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class Connection:
    """A peer's connection to a visit, as handed out by :meth:`RoomHub.connect`.

    The app's websocket adapter calls :meth:`submit` for each client message and watches
    :meth:`wait_closed`: when the hub or the room ends the connection (left, denied, call
    ended, replaced by a newer connection, expired, slow consumer, shutdown...) it
    returns the :data:`~signaling.server_messages.CloseReason`, and the adapter closes the
    websocket with the matching code. Messages are delivered through a bounded outbox by
    a task of their own, so a slow client never blocks anybody else; if the outbox
    overflows or one send takes longer than ``send_timeout_s``, the connection closes
    with ``slow_consumer``.
    """

    def __init__(
        self,
        *,
        visit_id: str,
        peer: PeerInfo,
        connection_id: str,
        send: SendCallback,
        submit: Callable[[Connection, ClientMessage], Awaitable[None]],
        outbox_size: int,
        send_timeout_s: float,
        rate: float,
        burst: float,
        max_refused: int = 20,
        on_slow: Callable[[], None] | None = None,
    ) -> None:
        self.visit_id = visit_id
        self._on_slow = on_slow
        self.peer = peer
        self.connection_id = connection_id
        self._send = send
        self._submit = submit
        self._send_timeout_s = send_timeout_s
        self._outbox: asyncio.Queue[tuple[ServerMessage, CloseReason | None]] = asyncio.Queue(
            maxsize=outbox_size
        )
        self._bucket = _TokenBucket(rate, burst)
        self._max_refused = max_refused
        self._refused = 0
        self._close_reason: CloseReason | None = None
        self._closing: CloseReason | None = None  # a final message is queued
        self._closed = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        """Whether the connection is over (no more messages will be sent on it)."""
        return self._closed.is_set()

    @property
    def close_reason(self) -> CloseReason | None:
        """Why the hub or room closed it; ``None`` while open or if the app left itself."""
        return self._close_reason

    @property
    def final_reason(self) -> CloseReason | None:
        """The close reason, or the one a queued final message will close with."""
        return self._close_reason or self._closing

    @property
    def ended_by_room(self) -> bool:
        """Whether the room ended this session, so no grace period should follow."""
        return self.final_reason in ROOM_CLOSE_REASONS

    async def submit(self, message: ClientMessage) -> None:
        """Publish one client message to the visit (returns once it is in the log).

        Raises :class:`~signaling.errors.RateLimited` for a flooding client,
        :class:`~signaling.errors.NotAdmitted` for what a peer not in the call may not
        send (nothing is published), :class:`~signaling.errors.RefusedRepeatedly` (a
        ``RateLimited``) once ``max_refused`` messages were refused on this connection,
        :class:`~signaling.errors.ConnectionClosed` after close, and
        :class:`~signaling.errors.BackendUnavailable` if the log cannot be reached.
        """
        if self.closed or self._closing is not None:
            raise ConnectionClosed(self._close_reason or self._closing or "left")
        if not self._bucket.take(asyncio.get_running_loop().time()):
            raise RateLimited()
        try:
            await self._submit(self, message)
        except NotAdmitted:
            self._refused += 1
            if self._refused >= self._max_refused:
                raise RefusedRepeatedly() from None
            raise

    async def wait_closed(self) -> CloseReason | None:
        """Wait (for the connection's lifetime) until it is closed; return the reason."""
        await self._closed.wait()
        return self._close_reason

    # --- used by the hub ------------------------------------------------------------

    def start(self) -> None:
        """Start the sender task."""
        self._sender = asyncio.create_task(self._run_sender(), name=f"send:{self.connection_id}")
        self._sender.add_done_callback(self._sender_done)

    def deliver(self, message: ServerMessage, close: CloseReason | None = None) -> None:
        """Queue a message without waiting; ``close`` ends the connection after it."""
        if self.closed or self._closing is not None:
            return
        try:
            self._outbox.put_nowait((message, close))
        except asyncio.QueueFull:
            logger.warning("closing a slow connection of visit %s: outbox full", self.visit_id)
            self._slow()
            return
        if close is not None:
            self._closing = close

    def _slow(self) -> None:
        if self._on_slow is not None:
            self._on_slow()
        self.abort("slow_consumer")

    def abort(self, reason: CloseReason) -> None:
        """Close now, dropping whatever is still queued."""
        if self.closed:
            return
        self._close_reason = reason
        self._closed.set()
        if self._sender is not None and self._sender is not asyncio.current_task():
            self._sender.cancel()

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Close (if still open) and wait for the sender task to finish."""
        if not self.closed:
            self._closed.set()
        sender = self._sender
        if sender is not None and not sender.done():
            sender.cancel()
            try:
                async with asyncio.timeout(timeout_s):
                    await asyncio.gather(sender, return_exceptions=True)
            except TimeoutError:
                logger.warning("sender of visit %s did not stop in time", self.visit_id)

    async def _run_sender(self) -> None:
        while not self.closed:
            message, close = await self._outbox.get()
            try:
                async with asyncio.timeout(self._send_timeout_s):
                    await self._send(message)
            except TimeoutError:
                logger.warning("closing a slow connection of visit %s: send timeout", self.visit_id)
                self._slow()
                return
            except Exception as exc:  # the websocket went away under us
                logger.info("send failed on visit %s: %s", self.visit_id, type(exc).__name__)
                self.abort("send_failed")
                return
            if close is not None:
                self.abort(close)
                return

    def _sender_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("sender task failed", exc_info=task.exception())
            self.abort("send_failed")
