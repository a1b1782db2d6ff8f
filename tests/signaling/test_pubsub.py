"""Event log backends: ordered, replayable, bounded; memory and Redis Streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_async

from signaling import (
    BackendError,
    BackendUnavailable,
    EventLog,
    LogTruncated,
    UnsupportedBackend,
    create_backend,
)
from signaling.pubsub import MemoryEventLog
from signaling.pubsub.base import MAX_ENTRY_BYTES
from signaling.pubsub.redis_streams import RedisEventLog

from .conftest import BackendFactory, redis_url


async def take(entries: AsyncIterator[bytes], count: int, within: float = 5.0) -> list[bytes]:
    got: list[bytes] = []
    async with asyncio.timeout(within):
        async for data in entries:
            got.append(data)
            if len(got) == count:
                break
    return got


@pytest.mark.asyncio
async def test_late_subscriber_replays_then_follows(make_backend: BackendFactory) -> None:
    log = await make_backend()
    for i in range(3):
        await log.append("visit:a", f"old-{i}".encode())
    async with log.subscribe("visit:a") as entries:
        assert await take(entries, 3) == [b"old-0", b"old-1", b"old-2"]
        await log.append("visit:a", b"new-0")
        assert await take(entries, 1) == [b"new-0"]
    # Other channels are separate.
    async with log.subscribe("visit:b") as entries:
        await log.append("visit:b", b"only-b")
        assert await take(entries, 1) == [b"only-b"]


@pytest.mark.asyncio
async def test_from_start_false_skips_the_past(make_backend: BackendFactory) -> None:
    log = await make_backend()
    await log.append("ch", b"before")
    async with log.subscribe("ch", from_start=False) as entries:
        await log.append("ch", b"after")
        assert await take(entries, 1) == [b"after"]


@pytest.mark.asyncio
async def test_two_processes_see_one_total_order(make_backend: BackendFactory) -> None:
    """Two writers and two readers on separate backends agree on the sequence."""
    first, second = await make_backend(), await make_backend()
    await first.append("ch", b"seed")

    async def read(log: EventLog) -> list[bytes]:
        async with log.subscribe("ch") as entries:
            return await take(entries, 41, within=10.0)

    readers = [asyncio.create_task(read(first)), asyncio.create_task(read(second))]

    async def write(log: EventLog, tag: str) -> None:
        for i in range(20):
            await log.append("ch", f"{tag}{i}".encode())
            await asyncio.sleep(0)

    await asyncio.gather(write(first, "a"), write(second, "b"))
    seen_first, seen_second = await asyncio.gather(*readers)
    assert seen_first == seen_second
    assert seen_first[0] == b"seed"
    assert sorted(seen_first[1:]) == sorted(
        [f"a{i}".encode() for i in range(20)] + [f"b{i}".encode() for i in range(20)]
    )
    # Each writer's own entries stay in its order.
    assert [e for e in seen_first if e.startswith(b"a")] == [f"a{i}".encode() for i in range(20)]
    # A third, late reader replays the identical sequence.
    assert await read(second) == seen_first


@pytest.mark.asyncio
async def test_close_ends_live_subscriptions(make_backend: BackendFactory) -> None:
    log = await make_backend()
    await log.append("ch", b"x")

    async def drain() -> list[bytes]:
        got: list[bytes] = []
        async with log.subscribe("ch") as entries:
            async for data in entries:
                got.append(data)
        return got

    reader = asyncio.create_task(drain())
    await asyncio.sleep(0.2)
    await log.close()
    async with asyncio.timeout(10):
        assert await reader == [b"x"]


@pytest.mark.asyncio
async def test_delete_drops_the_channel(make_backend: BackendFactory) -> None:
    log = await make_backend()
    await log.append("ch", b"one")
    await log.delete("ch")
    await log.append("ch", b"two")
    async with log.subscribe("ch") as entries:
        assert await take(entries, 1) == [b"two"]


@pytest.mark.asyncio
async def test_entries_and_channel_names_are_bounded(make_backend: BackendFactory) -> None:
    log = await make_backend()
    with pytest.raises(BackendError, match="limited"):
        await log.append("ch", b"x" * (MAX_ENTRY_BYTES + 1))
    with pytest.raises(BackendError, match="channel names"):
        await log.append("", b"x")


@pytest.mark.asyncio
async def test_trimmed_log_is_detected_not_silently_replayed(make_backend: BackendFactory) -> None:
    log = await make_backend(max_entries=10)
    # Redis trims whole stream nodes (100 entries by default), so write well past that.
    for i in range(400):
        await log.append("ch", str(i).encode())
    with pytest.raises(LogTruncated):
        async with log.subscribe("ch") as entries:
            await take(entries, 400)


@pytest.mark.asyncio
async def test_memory_slow_subscriber_gets_log_truncated() -> None:
    log = MemoryEventLog(max_entries=10)
    await log.connect()
    await log.append("ch", b"0")
    async with log.subscribe("ch") as entries:
        assert await take(entries, 1) == [b"0"]
        for i in range(1, 30):
            await log.append("ch", str(i).encode())
        with pytest.raises(LogTruncated):
            await take(entries, 29)
    await log.close()


@pytest.mark.asyncio
async def test_memory_bounds_channels_and_drops_idle_ones() -> None:
    log = MemoryEventLog(max_channels=2, ttl_s=0.05)
    await log.connect()
    await log.append("a", b"1")
    await log.append("b", b"1")
    async with log.subscribe("b"):
        await asyncio.sleep(0.1)
        await log.append("c", b"1")  # "a" idled out; "b" is followed so it stays
        with pytest.raises(BackendError, match="too many channels"):
            await log.append("d", b"1")
    await log.close()
    with pytest.raises(BackendUnavailable, match="closed"):
        await log.append("a", b"1")


@pytest.mark.redis
@pytest.mark.asyncio
async def test_redis_append_sets_a_ttl_and_trims(key_prefix: str) -> None:
    url = redis_url()
    log = RedisEventLog(url, key_prefix=key_prefix, ttl_s=600, max_entries=100)
    await log.connect()
    try:
        for i in range(500):
            await log.append("ch", str(i).encode())
        client = redis_async.Redis.from_url(url)
        try:
            ttl = await client.ttl(key_prefix + "ch")
            counter_ttl = await client.ttl(key_prefix + "ch#bytes")
            length = await client.xlen(key_prefix + "ch")
        finally:
            await client.aclose()
        assert 590 <= ttl <= 600 and 590 <= counter_ttl <= 600
        # Trimmed exactly, to 90% of the bound once over it: never more than the bound.
        assert 90 <= length <= 100
        entries = await client_entries(url, key_prefix + "ch")
        assert entries[-1] == b"499"
        assert await log.retained_bytes("ch") == sum(len(e) for e in entries)
    finally:
        await log.close()


async def client_entries(url: str, key: str) -> list[bytes]:
    client = redis_async.Redis.from_url(url)
    try:
        rows = await client.xrange(key)
    finally:
        await client.aclose()
    return [fields[b"d"] for _, fields in rows]


@pytest.mark.asyncio
async def test_a_channel_stays_within_its_byte_budget(make_backend: BackendFactory) -> None:
    budget = MAX_ENTRY_BYTES  # the smallest budget allowed: one largest entry
    log = await make_backend(max_bytes=budget, max_entries=100_000)
    entry = 20_000
    for i in range(200):  # 4 MB offered to a 512 KiB budget
        await log.append("visit:a", str(i % 10).encode() * entry)
        assert await log.retained_bytes("visit:a") <= budget
    retained = await log.retained_bytes("visit:a")
    assert retained >= budget * 0.9 - entry
    # The oldest were trimmed, which a replay from the start notices.
    with pytest.raises(LogTruncated):
        async with log.subscribe("visit:a") as entries:
            await take(entries, 200)
    # The largest entry still fits, alone.
    await log.append("visit:a", b"z" * MAX_ENTRY_BYTES)
    assert await log.retained_bytes("visit:a") == MAX_ENTRY_BYTES
    # Deleting drops the entries and the count.
    await log.delete("visit:a")
    assert await log.retained_bytes("visit:a") == 0


@pytest.mark.asyncio
async def test_budgets_too_small_for_one_entry_are_refused(backend_kind: str) -> None:
    url = "memory://" if backend_kind == "memory" else redis_url()
    with pytest.raises(ValueError, match="max_bytes"):
        create_backend(url, max_bytes=MAX_ENTRY_BYTES - 1)
    with pytest.raises(ValueError, match="max_entries"):
        create_backend(url, max_entries=0)


@pytest.mark.asyncio
async def test_live_entries_reach_followers_and_are_never_stored(
    make_backend: BackendFactory,
) -> None:
    publisher, follower = await make_backend(), await make_backend()
    async with follower.follow_live("visit:a") as live, follower.follow_live("visit:b") as other:
        await asyncio.sleep(0.2)  # Redis: the pattern subscription is registered
        await publisher.publish("visit:a", b"caption one")
        await publisher.publish("visit:b", b"caption two")
        assert await take(live, 1) == [b"caption one"]
        assert await take(other, 1) == [b"caption two"]
    assert await publisher.retained_bytes("visit:a") == 0
    await publisher.append("visit:a", b"logged")
    async with follower.subscribe("visit:a") as entries:
        assert await take(entries, 1) == [b"logged"]
        with pytest.raises(TimeoutError):
            await take(entries, 1, within=0.3)  # the live entries are not in the log
    with pytest.raises(BackendError, match="'#'"):
        await publisher.append("visit:a#bytes", b"x")


@pytest.mark.redis
@pytest.mark.asyncio
async def test_redis_unreachable_is_backend_unavailable() -> None:
    redis_url()
    log = create_backend("redis://127.0.0.1:1/0", timeout_s=1.0)
    with pytest.raises(BackendUnavailable):
        await log.connect()
    await log.close()
    with pytest.raises(BackendUnavailable, match="not connected"):
        await log.append("ch", b"x")


def test_create_backend_by_url() -> None:
    assert isinstance(create_backend("memory://"), MemoryEventLog)
    backend = create_backend("redis://127.0.0.1:6379/0", key_prefix="p:")
    assert isinstance(backend, RedisEventLog) and backend.key_prefix == "p:"
    assert isinstance(create_backend("rediss://example.invalid:6380/0"), RedisEventLog)
    with pytest.raises(UnsupportedBackend, match="kafka"):
        create_backend("kafka://broker:9092")
    with pytest.raises(ValueError):
        create_backend("nats://x")
