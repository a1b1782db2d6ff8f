"""Fixtures shared by the signaling tests: event log backends, memory and Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as redis_async

from signaling import EventLog, create_backend
from tests.services import REDIS_SOURCE, REDIS_URL

BackendFactory = Callable[..., Awaitable[EventLog]]


def redis_url() -> str:
    if not REDIS_URL:
        # Only a machine without a Redis server skips these.
        pytest.skip(REDIS_SOURCE)
    return REDIS_URL


@pytest_asyncio.fixture
async def key_prefix() -> AsyncIterator[str]:
    """A Redis key prefix unique to one test; its keys are deleted afterwards."""
    prefix = f"test:signaling:{uuid.uuid4().hex}:"
    yield prefix
    if REDIS_URL:
        client = redis_async.Redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter(match=prefix + "*", count=500)]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if kind == "redis":
        redis_url()
    return kind


@pytest_asyncio.fixture
async def make_backend(backend_kind: str, key_prefix: str) -> AsyncIterator[BackendFactory]:
    """Make connected backends over one shared log.

    Memory: every call returns the same in-process log (the only way it can be shared).
    Redis: every call makes a separate client and pool, as a separate process would.
    """
    made: list[EventLog] = []
    shared: list[EventLog] = []

    async def factory(**options: Any) -> EventLog:
        if backend_kind == "memory":
            if shared and not options:
                return shared[0]
            backend = create_backend("memory://", **options)
            if not options:
                shared.append(backend)
        else:
            backend = create_backend(redis_url(), key_prefix=key_prefix, **options)
        await backend.connect()
        made.append(backend)
        return backend

    yield factory
    for backend in made:
        await backend.close()
