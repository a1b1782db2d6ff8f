"""The database handle: one async engine and its session factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

CONNECT_TIMEOUT_S = 5.0


class DatabaseUnavailable(Exception):
    """The database could not be reached; the message is safe to show (no password)."""


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _prepare_sqlite(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str) -> AsyncEngine:
    # hide_parameters: a failed statement's error (and so any log of it) must not quote the
    # values it tried to write, which may be transcript text or names.
    if url.startswith("sqlite"):
        _prepare_sqlite(url)
        engine = create_async_engine(
            url, hide_parameters=True, connect_args={"timeout": CONNECT_TIMEOUT_S}
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            # WAL lets readers and one writer work at once; foreign keys are off by default.
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL still survives a crash of the process; only an OS crash or
            # power loss can drop the last commits. FULL would fsync on every commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

        return engine
    return create_async_engine(
        url,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=CONNECT_TIMEOUT_S,
        connect_args={"timeout": CONNECT_TIMEOUT_S},
    )


class Database:
    """Owns the engine; `session()` yields a unit of work that commits or rolls back."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:  # every driver raises its own kind
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise DatabaseUnavailable(
                f"cannot reach the database at {safe_url(self.url)}: {reason}"
            ) from error

    async def close(self) -> None:
        await self.engine.dispose()
