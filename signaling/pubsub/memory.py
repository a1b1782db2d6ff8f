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
from signaling.pubsub.base import EventLog, check_entry

_POLL_S = 1.0  # how often a waiting subscriber re-checks for close or delete


@dataclass
class _Channel:
    entries: list[bytes] = field(default_factory=list)
    base: int = 0  # absolute position of entries[0]; grows as old entries are trimmed
    condition: asyncio.Condition = field(default_factory=asyncio.Condition)
    subscribers: int = 0
    touched: float = field(default_factory=time.monotonic)
    deleted: bool = False


class MemoryEventLog(EventLog):
    """Event log channels kept in this process's memory.

    ``max_entries`` per channel (older entries are trimmed, like Redis ``MAXLEN ~``),
    ``ttl_s`` after which a channel nobody appended to or follows is dropped, and
    ``max_channels`` as a hard bound on how many channels exist at once.
    """

    def __init__(
        self, *, max_entries: int = 10_000, ttl_s: float = 24 * 3600.0, max_channels: int = 10_000
    ) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self.max_channels = max_channels
        self._channels: dict[str, _Channel] = {}
        self._closed = False

    async def connect(self) -> None:
        """Nothing to open; re-opens a closed log."""
        self._closed = False

    async def close(self) -> None:
        """End all subscriptions and forget every channel."""
        self._closed = True
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
            log.touched = time.monotonic()
            # Trim in chunks of 10% so appends at the bound stay cheap.
            excess = len(log.entries) - self.max_entries
            if excess > 0 and excess >= max(1, self.max_entries // 10):
                del log.entries[:excess]
                log.base += excess
            log.condition.notify_all()

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
