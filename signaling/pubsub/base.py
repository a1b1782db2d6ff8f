"""The pub/sub backend interface: an ordered, replayable, bounded event log per channel.

In the style of encode/broadcaster, a backend is chosen by URL (see
:func:`signaling.pubsub.create_backend`). Unlike plain publish/subscribe, every channel is
a *log*: entries are appended in one total order, and a subscriber that arrives late
first replays what is still retained, then follows live entries, so every subscriber in
every process sees the same sequence. That is what room replicas need to agree.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from types import TracebackType

from signaling.errors import BackendError

MAX_ENTRY_BYTES = 512 * 1024
"""Largest entry a channel accepts (room events wrap client frames of at most 128 KiB)."""

MAX_CHANNEL_CHARS = 200


def check_entry(channel: str, data: bytes) -> None:
    """Refuse an empty or over-long channel name and oversized entries."""
    if not channel or len(channel) > MAX_CHANNEL_CHARS:
        raise BackendError(f"channel names must have 1 to {MAX_CHANNEL_CHARS} characters")
    if len(data) > MAX_ENTRY_BYTES:
        raise BackendError(f"log entries are limited to {MAX_ENTRY_BYTES} bytes")


class EventLog(abc.ABC):
    """An ordered, replayable log of byte entries per channel, shared by all processes.

    Channels are bounded: old entries are trimmed beyond a maximum length, and idle
    channels expire. ``connect()`` before use and ``close()`` at shutdown (or use the
    backend as an async context manager).
    """

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open connections; raise :class:`~signaling.errors.BackendUnavailable` if down."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close connections; live subscriptions end (their iteration stops)."""

    @abc.abstractmethod
    async def append(self, channel: str, data: bytes) -> None:
        """Append one entry at the end of ``channel``'s log."""

    @abc.abstractmethod
    def subscribe(
        self, channel: str, *, from_start: bool = True
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """Iterate over ``channel``: retained entries first (if ``from_start``), then live.

        Used as ``async with log.subscribe(ch) as entries: async for data in entries:``.
        Iteration raises :class:`~signaling.errors.LogTruncated` if entries this
        subscriber still needed were trimmed, and stops when the channel is deleted (memory)
        or the backend is closed.
        """

    @abc.abstractmethod
    async def delete(self, channel: str) -> None:
        """Drop ``channel`` and all its entries."""

    async def __aenter__(self) -> EventLog:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
