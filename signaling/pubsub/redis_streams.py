"""The Redis event log (``redis://`` / ``rediss://``): one Redis Stream per channel.

Streams give the properties room replicas need: one total order of entries (stream ids),
replay from the start for late subscribers (``XREAD`` from ``0-0``), live following
(``XREAD BLOCK`` in a loop with a bounded block time), and bounds: a server-side script
appends, keeps the byte count of the stream in a counter key beside it, and trims the
oldest entries exactly (``XTRIM MINID``) when the stream is over its entry or byte
bound; both keys get a TTL refreshed on every append so abandoned visits disappear.
Live entries (:meth:`RedisEventLog.publish`) use Redis pub/sub, which stores nothing.
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
from signaling.pubsub.base import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ENTRIES,
    LIVE_QUEUE_SIZE,
    EventLog,
    check_bounds,
    check_entry,
    trim_target,
)
from signaling.pubsub.codec import PayloadCodec, PlainPayloads

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_FIELD = b"d"
_SIZE_SUFFIX = "#bytes"  # channel names cannot contain "#" (check_entry)
_LIVE_PREFIX = "live#"  # pub/sub channel names, a namespace apart from keys anyway
_LIVE_POLL_S = 1.0


def _glob_escape(text: str) -> str:
    """Escape what PSUBSCRIBE patterns treat specially."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


# KEYS: stream, byte counter. ARGV: entry, max entries, max bytes, keep entries,
# keep bytes, ttl seconds. Appends, then trims the oldest entries while the stream is over
# a bound, down to the keep targets, never dropping the entry just added.
_APPEND_SCRIPT = """
local stream, counter = KEYS[1], KEYS[2]
local data = ARGV[1]
local max_entries, max_bytes = tonumber(ARGV[2]), tonumber(ARGV[3])
local keep_entries, keep_bytes = tonumber(ARGV[4]), tonumber(ARGV[5])
local ttl = tonumber(ARGV[6])
local id = redis.call('XADD', stream, '*', 'd', data)
local size = redis.call('INCRBY', counter, string.len(data))
local length = redis.call('XLEN', stream)
if length > max_entries or size > max_bytes then
  local first_kept = id
  local from = '-'
  local done = false
  while not done do
    local batch = redis.call('XRANGE', stream, from, '+', 'COUNT', 100)
    if #batch == 0 then break end
    for _, entry in ipairs(batch) do
      if length <= 1 or (length <= keep_entries and size <= keep_bytes) then
        first_kept = entry[1]
        done = true
        break
      end
      local fields = entry[2]
      for i = 1, #fields, 2 do
        if fields[i] == 'd' then size = size - string.len(fields[i + 1]) end
      end
      length = length - 1
      from = '(' .. entry[1]
    end
  end
  redis.call('XTRIM', stream, 'MINID', first_kept)
  redis.call('SET', counter, size)
end
redis.call('EXPIRE', stream, ttl)
redis.call('EXPIRE', counter, ttl)
return size
"""


def _decode(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisEventLog(EventLog):
    """Event log channels stored as Redis Streams under ``key_prefix``.

    ``max_entries`` and ``max_bytes`` bound each stream (see :class:`EventLog`),
    ``ttl_s`` is the key lifetime after the last append, ``block_ms`` how long one
    ``XREAD`` waits, ``timeout_s`` the bound on every other command and on waiting for a
    pooled connection, and ``retry_s`` how long a subscriber keeps retrying after Redis
    went away before it raises :class:`~signaling.errors.BackendUnavailable`. Each log
    subscription holds one pooled connection while it blocks, and all live followers
    share one more, so ``max_connections`` bounds concurrent subscriptions plus
    in-flight appends. ``payload_codec``
    seals every entry (stored or live) before it is sent to Redis and opens it when read
    (see :mod:`signaling.pubsub.codec`).
    """

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "telehealth:signaling:",
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        ttl_s: float = 24 * 3600.0,
        block_ms: int = 5_000,
        read_count: int = 100,
        timeout_s: float = 5.0,
        retry_s: float = 10.0,
        max_connections: int = 64,
        payload_codec: PayloadCodec | None = None,
    ) -> None:
        check_bounds(max_entries, max_bytes)
        self.url = url
        self.payload_codec: PayloadCodec = payload_codec or PlainPayloads()
        self.key_prefix = key_prefix
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.block_ms = block_ms
        self.read_count = read_count
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.max_connections = max_connections
        self._client: redis_async.Redis | None = None
        self._closed = False
        self._live_lock = asyncio.Lock()
        self._live_pubsub: Any = None
        self._live_reader: asyncio.Task[None] | None = None
        self._live_followers: dict[bytes, list[asyncio.Queue[bytes]]] = {}

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
        reader, self._live_reader = self._live_reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        pubsub, self._live_pubsub = self._live_pubsub, None
        if pubsub is not None:
            await pubsub.aclose()
        self._live_followers.clear()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
            await client.connection_pool.disconnect()

    async def append(self, channel: str, data: bytes) -> None:
        """Append the entry, trim the stream to its bounds and refresh the keys' TTL."""
        check_entry(channel, data)
        client = self._require()
        key = self.key_prefix + channel
        await self._call(
            client.eval(
                _APPEND_SCRIPT,
                2,
                key,
                key + _SIZE_SUFFIX,
                self.payload_codec.seal(channel, data),
                self.max_entries,
                self.max_bytes,
                trim_target(self.max_entries),
                trim_target(self.max_bytes),
                max(1, int(self.ttl_s)),
            )
        )

    async def retained_bytes(self, channel: str) -> int:
        """Bytes of the entries ``channel``'s stream holds now (0 for no such stream)."""
        raw: Any = await self._call(self._require().get(self.key_prefix + channel + _SIZE_SUFFIX))
        return int(raw) if raw is not None else 0

    async def delete(self, channel: str) -> None:
        """``DEL`` the channel's stream and its byte counter."""
        key = self.key_prefix + channel
        await self._call(self._require().delete(key, key + _SIZE_SUFFIX))

    async def publish(self, channel: str, data: bytes) -> None:
        """``PUBLISH`` to the channel's live followers in every process (nothing stored)."""
        check_entry(channel, data)
        sealed = self.payload_codec.seal(channel, data)
        await self._call(self._require().publish(self._live_key(channel), sealed))

    @asynccontextmanager
    async def follow_live(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
        """Follow the channel's live entries (see :meth:`EventLog.follow_live`)."""
        check_entry(channel, b"")
        await self._start_live()
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=LIVE_QUEUE_SIZE)
        key = self._live_key(channel).encode()
        self._live_followers.setdefault(key, []).append(queue)
        entries = self._follow_live(channel, queue)
        try:
            yield entries
        finally:
            await entries.aclose()
            followers = self._live_followers.get(key, [])
            if queue in followers:
                followers.remove(queue)
            if not followers:
                self._live_followers.pop(key, None)

    def _live_key(self, channel: str) -> str:
        return self.key_prefix + _LIVE_PREFIX + channel

    async def _start_live(self) -> None:
        """Subscribe once per process to every live channel under the prefix.

        One pattern subscription on one connection serves all followers: a subscription
        per visit would take a pooled connection each, halving how many visits a process
        can follow. Entries of visits nobody here follows are dropped on arrival.
        """
        async with self._live_lock:
            if self._live_reader is not None and not self._live_reader.done():
                return
            pubsub = self._require().pubsub(ignore_subscribe_messages=True)
            pattern = _glob_escape(self.key_prefix + _LIVE_PREFIX) + "*"
            try:
                await self._call(pubsub.psubscribe(pattern))
            except BaseException:
                await pubsub.aclose()
                raise
            self._live_pubsub = pubsub
            self._live_reader = asyncio.create_task(self._route_live(pubsub), name="redis-live")

    async def _route_live(self, pubsub: Any) -> None:
        while not self._closed:
            try:
                async with asyncio.timeout(_LIVE_POLL_S + self.timeout_s):
                    message: Any = await pubsub.get_message(timeout=_LIVE_POLL_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # redis-py reconnects and re-subscribes on the next read
                logger.warning("redis live read failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(min(1.0, self.retry_s / 5))
                continue
            if message is None or message.get("type") != "pmessage":
                continue
            for queue in self._live_followers.get(message["channel"], []):
                if not queue.full():  # a stalled follower misses live entries
                    queue.put_nowait(message["data"])

    async def _follow_live(
        self, channel: str, queue: asyncio.Queue[bytes]
    ) -> AsyncGenerator[bytes, None]:
        while not self._closed:
            try:
                async with asyncio.timeout(_LIVE_POLL_S):
                    sealed = await queue.get()
            except TimeoutError:
                continue
            try:
                data = self.payload_codec.open(channel, sealed)
            except PayloadRejected:
                logger.warning("skipped a live redis entry that did not open (another key?)")
                continue
            yield data

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
