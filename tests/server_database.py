"""The database of a server a test started (its TELEHEALTH_DATA_DIR), opened with its key.

The server encrypts its SQLite file with the key it generated into `var/database_key`;
tests that look into it or change it directly need that key too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlcipher3.dbapi2 as sqlcipher

from telehealth.settings import Settings
from telehealth.storage import Database
from telehealth.storage.database_key import DatabaseKey
from telehealth.storage.sqlcipher import open_keyed


def server_settings(data_dir: Path) -> Settings:
    return Settings(_env_file=None, env="test", data_dir=data_dir)  # type: ignore[call-arg]


def server_database(data_dir: Path) -> Database:
    """The async handle the service itself would open on ``data_dir``."""
    return Database.for_settings(server_settings(data_dir))


@contextmanager
def server_sqlite(data_dir: Path) -> Iterator[sqlcipher.Connection]:
    """A DB-API connection (like `sqlite3.connect`): committed on success, then closed."""
    key = DatabaseKey((data_dir / "database_key").read_text(encoding="utf-8").strip())
    connection = open_keyed(data_dir / "telehealth.db", key, timeout_s=5.0)
    try:
        with connection:
            yield connection
    finally:
        connection.close()
