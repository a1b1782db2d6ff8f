"""The Redis backend hands every entry to its injected payload codec at the process edge."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as redis_async

from signaling import create_backend
from signaling.errors import PayloadRejected
from signaling.pubsub.redis_streams import RedisEventLog
from tests.signaling.conftest import redis_url

pytestmark = [pytest.mark.redis, pytest.mark.asyncio]


class ReversingCodec:
    """Reverses the bytes and tags them with the channel: enough to see the boundary."""

    def seal(self, channel: str, data: bytes) -> bytes:
        return channel.encode() + b"|" + data[::-1]

    def open(self, channel: str, sealed: bytes) -> bytes:
        tag, _, body = sealed.partition(b"|")
        if tag != channel.encode():
            raise PayloadRejected("wrong channel")
        return body[::-1]


async def _raw_entries(key: str) -> list[bytes]:
    client = redis_async.Redis.from_url(redis_url())
    try:
        return [fields[b"d"] for _, fields in await client.xrange(key)]
    finally:
        await client.aclose()


async def _read(log: RedisEventLog, channel: str, count: int) -> list[bytes]:
    got: list[bytes] = []
    async with asyncio.timeout(5), log.subscribe(channel) as entries:
        async for entry in entries:
            got.append(entry)
            if len(got) == count:
                break
    return got


async def test_entries_are_sealed_before_redis_and_opened_when_read(key_prefix: str) -> None:
    writer = create_backend(redis_url(), key_prefix=key_prefix, payload_codec=ReversingCodec())
    reader = RedisEventLog(redis_url(), key_prefix=key_prefix, payload_codec=ReversingCodec())
    assert isinstance(writer, RedisEventLog)
    await writer.connect()
    await reader.connect()
    try:
        await writer.append("visit:1", b"hello doctor")
        await writer.append("visit:1", b"second")
        assert await _raw_entries(key_prefix + "visit:1") == [
            b"visit:1|rotcod olleh",
            b"visit:1|dnoces",
        ]
        assert await _read(reader, "visit:1", 2) == [b"hello doctor", b"second"]
    finally:
        await writer.close()
        await reader.close()


async def test_an_entry_that_does_not_open_is_skipped(key_prefix: str) -> None:
    log = RedisEventLog(redis_url(), key_prefix=key_prefix, payload_codec=ReversingCodec())
    await log.connect()
    client = redis_async.Redis.from_url(redis_url())
    try:
        # Written by something without this codec (another key, or a copied entry).
        await client.xadd(key_prefix + "visit:2", {b"d": b"visit:9|kcatta"})
        await log.append("visit:2", b"genuine")
        assert await _read(log, "visit:2", 1) == [b"genuine"]
    finally:
        await client.aclose()
        await log.close()


async def test_without_a_codec_entries_are_stored_as_they_are(key_prefix: str) -> None:
    log = RedisEventLog(redis_url(), key_prefix=key_prefix)
    await log.connect()
    try:
        await log.append("visit:3", b"plain")
        assert await _raw_entries(key_prefix + "visit:3") == [b"plain"]
    finally:
        await log.close()
