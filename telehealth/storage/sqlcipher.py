"""SQLCipher for the embedded database: every page of the file, its WAL and the FTS5 index
encrypted (AES-256, HMAC-SHA512 per page) with the key of `database_key.py`.

The `sqlcipher3` wheel bundles SQLCipher as a DB-API module shaped like `sqlite3`; aiosqlite
runs it on its thread through a connector, and SQLAlchemy's aiosqlite dialect takes that
connection (`async_creator`) with the exception classes of sqlcipher3, so an
IntegrityError is still an IntegrityError.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiosqlite
import sqlcipher3.dbapi2 as sqlcipher
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

from telehealth.private_files import create_private_file, restrict_existing
from telehealth.storage.database_key import DatabaseKey

log = logging.getLogger("telehealth.storage")

PLAINTEXT_HEADER = b"SQLite format 3\x00"
SIDE_FILE_SUFFIXES = ("-wal", "-shm", "-journal")
KEY_CHECK = "SELECT count(*) FROM sqlite_master"


class DatabaseKeyRefused(Exception):
    """The file is not a database this key opens (wrong key, or not a database at all)."""


class SQLCipherDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite's adapter with sqlcipher3's exceptions (the base takes sqlite3's)."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlcipher)

    def _init_dbapi_attributes(self) -> None:
        super()._init_dbapi_attributes()
        for name in (
            "DatabaseError",
            "Error",
            "IntegrityError",
            "NotSupportedError",
            "OperationalError",
            "ProgrammingError",
            "sqlite_version",
            "sqlite_version_info",
        ):
            setattr(self, name, getattr(sqlcipher, name))


def database_files(path: Path) -> list[Path]:
    """The database file and the side files SQLite may create beside it."""
    return [path, *(path.with_name(path.name + suffix) for suffix in SIDE_FILE_SUFFIXES)]


def _refused(path: Path) -> DatabaseKeyRefused:
    return DatabaseKeyRefused(
        f"the database key does not open {path.name} (wrong key, or not a database)"
    )


def open_keyed(path: Path, key: DatabaseKey, timeout_s: float) -> sqlcipher.Connection:
    """A sqlcipher3 connection with the key applied and checked."""
    connection = sqlcipher.connect(str(path), timeout=timeout_s, check_same_thread=False)
    try:
        connection.execute(f"PRAGMA key = {key.pragma_literal}")
        # The key is only tried on the first read; a wrong one fails here, not mid-request.
        connection.execute(KEY_CHECK).fetchall()
    except sqlcipher.DatabaseError as error:
        connection.close()
        raise _refused(path) from error
    return connection


def async_creator(
    path: Path, key: DatabaseKey, timeout_s: float
) -> Callable[[], Coroutine[Any, Any, aiosqlite.Connection]]:
    """What `create_async_engine(async_creator=...)` calls for each new connection."""

    def connector() -> sqlcipher.Connection:
        return sqlcipher.connect(str(path), timeout=timeout_s, check_same_thread=False)

    async def connect() -> aiosqlite.Connection:
        connection = aiosqlite.Connection(connector, 64)
        # A daemon thread, as SQLAlchemy makes aiosqlite's own: a leaked connection must not
        # keep the interpreter alive at exit.
        connection._thread.daemon = True
        await connection
        try:
            await connection.execute(f"PRAGMA key = {key.pragma_literal}")
            await connection.execute_fetchall(KEY_CHECK)
        except sqlcipher.DatabaseError as error:
            # Closed here and awaited, so its thread never answers a loop that has ended.
            await connection.close()
            raise _refused(path) from error
        return connection

    return connect


def is_plaintext(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(len(PLAINTEXT_HEADER)) == PLAINTEXT_HEADER
    except FileNotFoundError:
        return False


def prepare_encrypted_file(path: Path, key: DatabaseKey) -> None:
    """Make the file 0600 before SQLite opens it, and encrypt a plaintext one of an earlier
    version in place. SQLite gives -wal and -shm the mode of the main file."""
    if is_plaintext(path):
        encrypt_plaintext(path, key)
    create_private_file(path)
    restrict_existing(database_files(path))


def encrypt_plaintext(path: Path, key: DatabaseKey) -> None:
    """Copy a plaintext database into an encrypted one (`sqlcipher_export`) and swap it in.

    The plaintext WAL is checkpointed first so no committed row is left behind; the old
    file's blocks may survive on the disk (see docs/security.md).
    """
    encrypted = path.with_name(f".{path.name}.encrypting")
    for leftover in database_files(encrypted):
        leftover.unlink(missing_ok=True)
    create_private_file(encrypted)
    plain = sqlcipher.connect(str(path), check_same_thread=False, isolation_level=None)
    try:
        plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        plain.execute(f"ATTACH DATABASE ? AS encrypted KEY {key.pragma_literal}", (str(encrypted),))
        plain.execute("SELECT sqlcipher_export('encrypted')")
        version = plain.execute("PRAGMA user_version").fetchone()[0]
        plain.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        plain.execute("DETACH DATABASE encrypted")
    finally:
        plain.close()
    os.replace(encrypted, path)
    for side in database_files(path)[1:]:
        side.unlink(missing_ok=True)
    log.warning("encrypted the plaintext database of an earlier version (%s)", path.name)


def rekey(path: Path, old: DatabaseKey, new: DatabaseKey) -> None:
    """Re-encrypt every page under ``new``; afterwards ``old`` no longer opens the file."""
    connection = open_keyed(path, old, timeout_s=5.0)
    try:
        connection.isolation_level = None
        # PRAGMA rekey rewrites the main file; in WAL mode the pages in the WAL would stay
        # under the old key, so fold the WAL in and rekey in rollback-journal mode.
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
        connection.execute(f"PRAGMA rekey = {new.pragma_literal}")
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()
    open_keyed(path, new, timeout_s=5.0).close()
