"""The database handle: one async engine and its session factory."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlcipher3.dbapi2 as sqlcipher
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from telehealth.private_files import PRIVATE_DIR_MODE, ensure_private_dir
from telehealth.storage.database_key import DatabaseKey
from telehealth.storage.sqlcipher import (
    SQLCipherDBAPI,
    async_creator,
    prepare_encrypted_file,
)

if TYPE_CHECKING:
    from telehealth.settings import Settings

CONNECT_TIMEOUT_S = 5.0


class DatabaseUnavailable(Exception):
    """The database could not be reached; the message is safe to show (no password)."""


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for an in-memory database."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(database)
    return None


def _sqlite_engine(url: str, key: DatabaseKey | None) -> AsyncEngine:
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if key is None or path is None:
        return create_async_engine(
            url, hide_parameters=True, connect_args={"timeout": CONNECT_TIMEOUT_S}
        )
    try:
        prepare_encrypted_file(path, key)
    except sqlcipher.DatabaseError as error:
        # Only a plaintext file of an earlier version is touched here (encrypted in place).
        raise DatabaseUnavailable(
            f"cannot encrypt the plaintext database {path.name}: {error}"
        ) from error
    return create_async_engine(
        url,
        hide_parameters=True,
        module=SQLCipherDBAPI(),
        async_creator=async_creator(path, key, CONNECT_TIMEOUT_S),
    )


def create_engine(
    url: str,
    *,
    sqlite_key: DatabaseKey | None = None,
    postgres_ssl: ssl.SSLContext | str | None = None,
) -> AsyncEngine:
    # hide_parameters: a failed statement's error (and so any log of it) must not quote the
    # values it tried to write, which may be transcript text or names.
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url, sqlite_key)

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
            # Deleted rows (retention, corrections) are overwritten, not left in free pages.
            cursor.execute("PRAGMA secure_delete=ON")
            # Sorts and temporary indexes stay in memory rather than in temporary files.
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.close()

        return engine
    connect_args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_S}
    if postgres_ssl is not None:
        connect_args["ssl"] = postgres_ssl
    return create_async_engine(
        url,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=CONNECT_TIMEOUT_S,
        connect_args=connect_args,
    )


class Database:
    """Owns the engine; `session()` yields a unit of work that commits or rolls back.

    A SQLite file is encrypted with SQLCipher when ``sqlite_key`` is given (always, for the
    service: :meth:`for_settings`); without one it is plain SQLite, for tests of the
    storage layer and of plaintext databases of earlier versions.
    """

    def __init__(
        self,
        url: str,
        *,
        sqlite_key: DatabaseKey | None = None,
        postgres_ssl: ssl.SSLContext | str | None = None,
    ) -> None:
        self.url = url
        self.sqlite_key = sqlite_key
        self.encrypted = sqlite_key is not None and url.startswith("sqlite")
        self.engine = create_engine(url, sqlite_key=sqlite_key, postgres_ssl=postgres_ssl)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def for_settings(cls, settings: Settings) -> Database:
        """The service's database: SQLite encrypted with its key, PostgreSQL with its TLS."""
        url = settings.database_url
        # var/ holds the keys and (by default) the database: owner-only.
        ensure_private_dir(settings.data_dir)
        if url.startswith("sqlite"):
            return cls(url, sqlite_key=settings.resolved_database_key())
        return cls(url, postgres_ssl=settings.postgres_ssl())

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
