"""Fixtures shared by every test package."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import settings as hypothesis_settings

from telehealth.settings import Settings
from tests.services import (
    POSTGRES_ADMIN_URL,
    POSTGRES_SOURCE,
    REDIS_SOURCE,
    REDIS_URL,
    backends_report,
)

# Property tests check behaviour, not speed: hypothesis' per-example deadline (200 ms) on a
# shared 2-core machine only measures the load (seen failing a formats test under load).
hypothesis_settings.register_profile("telehealth", deadline=None)
hypothesis_settings.load_profile("telehealth")

requires_postgres = pytest.mark.skipif(POSTGRES_ADMIN_URL is None, reason=POSTGRES_SOURCE)
requires_redis = pytest.mark.skipif(REDIS_URL is None, reason=REDIS_SOURCE)


def pytest_report_header() -> list[str]:
    return backends_report()


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "data_dir": tmp_path / "var",
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'test.db'}",
        "speech_engine": "off",
        "models_dir": tmp_path / "models",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


async def _admin(sql: str) -> None:
    import asyncpg

    assert POSTGRES_ADMIN_URL is not None
    dsn = POSTGRES_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _database_url(name: str) -> str:
    assert POSTGRES_ADMIN_URL is not None
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


@asynccontextmanager
async def throwaway_postgres() -> AsyncIterator[str]:
    """An empty PostgreSQL database of its own, dropped afterwards."""
    name = f"telehealth_t_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _database_url(name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest_asyncio.fixture(params=["sqlite", pytest.param("postgres", marks=requires_postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: SQLite, and PostgreSQL (see tests/services.py)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    async with throwaway_postgres() as url:
        yield url
