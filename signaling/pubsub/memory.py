"""The in-process event log (``memory://``): the embedded default and the test double.

It only shares a log between tasks of one process; use ``redis://`` to make several
server processes act as one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from signaling.errors import BackendError, BackendUnavailable, LogTruncated
from signaling.pubsub.base import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ENTRIES,
    LIVE_QUEUE_SIZE,
    EventLog,
    check_bounds,
    check_entry,
    trim_target,
)

_POLL_S = 1.0  # how often a waiting subscriber re-checks for close or delete


@dataclass
class _Channel:
    entries: list[bytes] = field(default_factory=list)
    size: int = 0  # bytes of all retained entries
    base: int = 0  # absolute position of entries[0]; grows as old entries are trimmed
    condition: asyncio.Condition = field(default_factory=asyncio.Condition)
    subscribers: int = 0
    touched: float = field(default_factory=time.monotonic)
    deleted: bool = False


class MemoryEventLog(EventLog):
    """Event log channels kept in this process's memory.

    ``max_entries`` and ``max_bytes`` per channel (older entries are trimmed, see
    :class:`EventLog`), ``ttl_s`` after which a channel nobody appended to or follows is
    dropped, and ``max_channels`` as a hard bound on how many channels exist at once.
    """

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        ttl_s: float = 24 * 3600.0,
        max_channels: int = 10_000,
    ) -> None:
        check_bounds(max_entries, max_bytes)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.max_channels = max_channels
        self._channels: dict[str, _Channel] = {}
        self._live: dict[str, list[asyncio.Queue[bytes]]] = {}
        self._closed = False

    async def connect(self) -> None:
        """Nothing to open; re-opens a closed log."""
        self._closed = False

    async def close(self) -> None:
        """End all subscriptions and forget every channel."""
        self._closed = True
        self._live.clear()
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            channel.deleted = True
            async with channel.condition:
                channel.condition.notify_all()

    async def append(self, channel: str, data: bytes) -> None:
        """Append ``data`` to ``channel``, trimming the oldest entries beyond the bound."""
        check_entry(channel, data)
        if self._closed:
            raise BackendUnavailable("the memory event log is closed")
        log = self._channel(channel)
        async with log.condition:
            log.entries.append(data)
            log.size += len(data)
            log.touched = time.monotonic()
            if len(log.entries) > self.max_entries or log.size > self.max_bytes:
                self._trim(log)
            log.condition.notify_all()

    def _trim(self, log: _Channel) -> None:
        """Drop the oldest entries until under 90% of both bounds, keeping the newest."""
        keep_entries, keep_bytes = trim_target(self.max_entries), trim_target(self.max_bytes)
        drop, size = 0, log.size
        while len(log.entries) - drop > 1 and (
            len(log.entries) - drop > keep_entries or size > keep_bytes
        ):
            size -= len(log.entries[drop])
            drop += 1
        del log.entries[:drop]
        log.size = size
        log.base += drop

    async def retained_bytes(self, channel: str) -> int:
        """Bytes of the entries ``channel`` holds now (0 for no such channel)."""
        log = self._channels.get(channel)
        return log.size if log is not None else 0

    async def publish(self, channel: str, data: bytes) -> None:
        """Hand ``data`` to the channel's live followers (see :meth:`EventLog.publish`)."""
        check_entry(channel, data)
        if self._closed:
            raise BackendUnavailable("the memory event log is closed")
        for queue in self._live.get(channel, []):
            if queue.full():
                continue  # a stalled follower misses live entries, nobody else waits
            queue.put_nowait(data)

    @asynccontextmanager
    async def follow_live(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
        """Follow live entries of ``channel`` (see :meth:`EventLog.follow_live`)."""
        check_entry(channel, b"")
        if self._closed:
            raise BackendUnavailable("the memory event log is closed")
        if channel not in self._live and len(self._live) >= self.max_channels:
            raise BackendError("too many live channels in the memory event log")
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=LIVE_QUEUE_SIZE)
        self._live.setdefault(channel, []).append(queue)
        entries = self._follow_live(queue)
        try:
            yield entries
        finally:
            await entries.aclose()
            followers = self._live.get(channel, [])
            if queue in followers:
                followers.remove(queue)
            if not followers:
                self._live.pop(channel, None)

    async def _follow_live(self, queue: asyncio.Queue[bytes]) -> AsyncGenerator[bytes, None]:
        while not self._closed:
            try:
                async with asyncio.timeout(_POLL_S):
                    data = await queue.get()
            except TimeoutError:
                continue
            yield data

    @asynccontextmanager
    async def subscribe(
        self, channel: str, *, from_start: bool = True
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """Follow ``channel`` (see :meth:`EventLog.subscribe`)."""
        check_entry(channel, b"")
        if self._closed:
            raise BackendUnavailable("the memory event log is closed")
        log = self._channel(channel)
        if from_start and log.base > 0:
            raise LogTruncated("the start of this channel was trimmed; it cannot be replayed")
        log.subscribers += 1
        start = 0 if from_start else log.base + len(log.entries)
        entries = self._follow(log, start)
        try:
            yield entries
        finally:
            log.subscribers -= 1
            await entries.aclose()

    async def delete(self, channel: str) -> None:
        """Drop ``channel``; its subscribers' iterations stop."""
        log = self._channels.pop(channel, None)
        if log is not None:
            log.deleted = True
            async with log.condition:
                log.condition.notify_all()

    async def _follow(self, log: _Channel, position: int) -> AsyncGenerator[bytes, None]:
        while not log.deleted:
            async with log.condition:
                if position < log.base:
                    raise LogTruncated("subscriber fell behind the memory log's bound")
                index = position - log.base
                if index < len(log.entries):
                    batch = log.entries[index:]
                else:
                    batch = []
                    try:
                        async with asyncio.timeout(_POLL_S):
                            await log.condition.wait()
                    except TimeoutError:
                        pass
            for data in batch:
                position += 1
                yield data

    def _channel(self, name: str) -> _Channel:
        log = self._channels.get(name)
        if log is None:
            self._sweep()
            if len(self._channels) >= self.max_channels:
                raise BackendError("too many channels in the memory event log")
            log = self._channels[name] = _Channel()
        return log

    def _sweep(self) -> None:
        """Drop channels idle for longer than the TTL that nobody follows."""
        cutoff = time.monotonic() - self.ttl_s
        for name in [n for n, c in self._channels.items() if c.touched < cutoff]:
            if self._channels[name].subscribers == 0:
                self._channels[name].deleted = True
                del self._channels[name]
