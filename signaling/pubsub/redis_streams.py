"""The Redis event log (``redis://`` / ``rediss://``): one Redis Stream per channel.

Streams give the properties room replicas need: one total order of entries (stream ids),
replay from the start for late subscribers (``XREAD`` from ``0-0``), live following
(``XREAD BLOCK`` in a loop with a bounded block time), and a bound (``XADD MAXLEN ~``)
plus a key TTL refreshed on every append so abandoned visits disappear.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import redis.asyncio as redis_async
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from signaling.errors import BackendError, BackendUnavailable, LogTruncated, PayloadRejected
from signaling.pubsub.base import EventLog, check_entry
from signaling.pubsub.codec import PayloadCodec, PlainPayloads

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_FIELD = b"d"


def _decode(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisEventLog(EventLog):
    """Event log channels stored as Redis Streams under ``key_prefix``.

    ``max_entries`` is the approximate stream length bound, ``ttl_s`` the key lifetime
    after the last append, ``block_ms`` how long one ``XREAD`` waits, ``timeout_s`` the
    bound on every other command and on waiting for a pooled connection, and
    ``retry_s`` how long a subscriber keeps retrying after Redis went away before it
    raises :class:`~signaling.errors.BackendUnavailable`. Each live subscription holds one
    pooled connection while it blocks, so ``max_connections`` bounds concurrent
    subscriptions plus in-flight appends. ``payload_codec`` seals every entry before it is
    sent to Redis and opens it when read (see :mod:`signaling.pubsub.codec`).
    """

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "telehealth:signaling:",
        max_entries: int = 10_000,
        ttl_s: float = 24 * 3600.0,
        block_ms: int = 5_000,
        read_count: int = 100,
        timeout_s: float = 5.0,
        retry_s: float = 10.0,
        max_connections: int = 64,
        payload_codec: PayloadCodec | None = None,
    ) -> None:
        self.url = url
        self.payload_codec: PayloadCodec = payload_codec or PlainPayloads()
        self.key_prefix = key_prefix
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self.block_ms = block_ms
        self.read_count = read_count
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.max_connections = max_connections
        self._client: redis_async.Redis | None = None
        self._closed = False

    async def connect(self) -> None:
        """Create the connection pool and check that Redis answers."""
        pool = redis_async.BlockingConnectionPool.from_url(
            self.url,
            max_connections=self.max_connections,
            timeout=self.timeout_s,
            socket_connect_timeout=self.timeout_s,
            # No socket_timeout: with one, redis-py wraps every send in asyncio.wait_for,
            # which on Python 3.11 swallows a task's cancellation when the send completes
            # at the same moment (a detached room reader would then block on). Every
            # command is bounded by our own asyncio.timeout instead.
            socket_timeout=None,
        )
        self._client = redis_async.Redis(connection_pool=pool)
        self._closed = False
        await self._call(self._client.ping())

    async def close(self) -> None:
        """Close the pool; live subscriptions stop at their next read."""
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
            await client.connection_pool.disconnect()

    async def append(self, channel: str, data: bytes) -> None:
        """``XADD`` the entry (trimming to ``MAXLEN ~``) and refresh the key's TTL."""
        check_entry(channel, data)
        client = self._require()
        key = self.key_prefix + channel
        sealed = self.payload_codec.seal(channel, data)
        async with client.pipeline(transaction=True) as pipe:
            pipe.xadd(key, {_FIELD: sealed}, maxlen=self.max_entries, approximate=True)
            pipe.expire(key, max(1, int(self.ttl_s)))
            await self._call(pipe.execute())

    async def delete(self, channel: str) -> None:
        """``DEL`` the channel's stream."""
        await self._call(self._require().delete(self.key_prefix + channel))

    @asynccontextmanager
    async def subscribe(
        self, channel: str, *, from_start: bool = True
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """Follow ``channel`` (see :meth:`EventLog.subscribe`)."""
        check_entry(channel, b"")
        key = self.key_prefix + channel
        info = await self._stream_info(key)
        if info is None:
            position, start = 0, "0-0"
        elif from_start:
            added, length, _ = info
            if added > length:
                raise LogTruncated("the start of this channel was trimmed; it cannot be replayed")
            position, start = 0, "0-0"
        else:
            position, _, start = info
        entries = self._follow(channel, start, position)
        try:
            yield entries
        finally:
            await entries.aclose()

    async def _follow(
        self, channel: str, last_id: str, position: int
    ) -> AsyncGenerator[bytes, None]:
        """Yield entries after ``last_id``; ``position`` counts entries ever added before."""
        key = self.key_prefix + channel
        failing_since: float | None = None
        while not self._closed:
            client = self._client
            if client is None:
                return
            try:
                async with asyncio.timeout(self.block_ms / 1000 + self.timeout_s):
                    reply: Any = await client.xread(
                        {key: last_id}, count=self.read_count, block=self.block_ms
                    )
            except (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError) as exc:
                if self._client is None:
                    return  # closed while reading
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > self.retry_s:
                    raise BackendUnavailable(f"redis unreachable: {type(exc).__name__}") from exc
                logger.warning("redis read failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(min(1.0, self.retry_s / 5))
                continue
            except RedisError as exc:
                raise BackendError(f"redis refused XREAD: {type(exc).__name__}") from exc
            failing_since = None
            batch: list[tuple[bytes, dict[bytes, bytes]]] = reply[0][1] if reply else []
            if len(batch) >= self.read_count:
                # A full batch means we are behind; make sure nothing we need was trimmed.
                info = await self._stream_info(key)
                if info is not None and info[0] - info[1] > position:
                    raise LogTruncated("entries were trimmed before this subscriber read them")
            for entry_id, fields in batch:
                last_id = entry_id.decode()
                position += 1
                sealed = fields.get(_FIELD)
                if sealed is None:
                    continue
                try:
                    data = self.payload_codec.open(channel, sealed)
                except PayloadRejected:
                    # Every replica skips the same entry, so they still agree on the order.
                    logger.warning("skipped a redis entry that did not open (another key?)")
                    continue
                yield data

    async def _stream_info(self, key: str) -> tuple[int, int, str] | None:
        """(entries ever added, current length, last id) of a stream, None if absent."""
        try:
            info: Any = await self._call(self._require().xinfo_stream(key))
        except BackendError as exc:
            if isinstance(exc.__cause__, ResponseError):
                return None  # no such key: an empty log
            raise
        last = info["last-generated-id"]
        return int(info["entries-added"]), int(info["length"]), _decode(last)

    def _require(self) -> redis_async.Redis:
        if self._client is None:
            raise BackendUnavailable("the redis event log is not connected")
        return self._client

    async def _call(self, awaitable: Awaitable[_T]) -> _T:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await awaitable
        except TimeoutError as exc:
            raise BackendUnavailable("redis did not answer in time") from exc
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise BackendUnavailable(f"redis unreachable: {type(exc).__name__}") from exc
        except RedisError as exc:
            raise BackendError(f"redis refused the command: {type(exc).__name__}") from exc
