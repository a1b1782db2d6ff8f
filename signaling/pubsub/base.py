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
"""Largest entry a channel accepts (room events wrap client frames of at most 32 KiB)."""

MAX_CHANNEL_CHARS = 200

DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
"""Default bounds of one channel: entries, and bytes of all its entries together."""

LIVE_QUEUE_SIZE = 256
"""How many live entries a slow live follower may have pending before newer ones drop."""


def check_entry(channel: str, data: bytes) -> None:
    """Refuse an empty, over-long or reserved channel name and oversized entries."""
    if not channel or len(channel) > MAX_CHANNEL_CHARS:
        raise BackendError(f"channel names must have 1 to {MAX_CHANNEL_CHARS} characters")
    if "#" in channel:
        # Backends keep a channel's bookkeeping under "<channel>#..." (see redis_streams).
        raise BackendError("channel names may not contain '#'")
    if len(data) > MAX_ENTRY_BYTES:
        raise BackendError(f"log entries are limited to {MAX_ENTRY_BYTES} bytes")


def check_bounds(max_entries: int, max_bytes: int) -> None:
    """Refuse bounds that could not hold even the newest entry."""
    if max_entries < 1:
        raise ValueError("max_entries must be at least 1")
    if max_bytes < MAX_ENTRY_BYTES:
        raise ValueError(f"max_bytes must be at least {MAX_ENTRY_BYTES} (the largest entry)")


def trim_target(bound: int) -> int:
    """What a channel is trimmed down to once over ``bound``: 90%, so trims are rare."""
    return max(1, bound - max(1, bound // 10))


class EventLog(abc.ABC):
    """An ordered, replayable log of byte entries per channel, shared by all processes.

    Channels are bounded: when an append takes a channel past ``max_entries`` entries or
    ``max_bytes`` bytes (all its entries together), its oldest entries are trimmed until
    it is back under 90% of both (the newest entry always stays), and idle channels
    expire. Besides the log, a channel carries *live* entries (:meth:`publish`): handed
    to whoever follows it live at that moment and never stored. ``connect()`` before use
    and ``close()`` at shutdown (or use the backend as an async context manager).
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

    @abc.abstractmethod
    async def retained_bytes(self, channel: str) -> int:
        """Bytes of the entries ``channel``'s log holds now (0 if it has none)."""

    @abc.abstractmethod
    async def publish(self, channel: str, data: bytes) -> None:
        """Hand ``data`` to ``channel``'s live followers only; it never enters the log.

        Nobody who starts following later sees it, and a follower too slow to keep up
        loses it: for what is only worth showing now (live captions).
        """

    @abc.abstractmethod
    def follow_live(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        r"""Iterate over live entries :meth:`publish`\ ed to ``channel`` from now on.

        Iteration stops when the backend is closed.
        """

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
