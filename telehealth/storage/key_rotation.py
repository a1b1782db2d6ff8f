"""`telehealth db rekey`: re-encrypt the embedded database under a new random key.

A key generated into `var/` is replaced there; a key from TELEHEALTH_DATABASE_KEY is the
operator's, so the new one is handed back to be put into the setting. Either way the old
key no longer opens the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import sqlcipher3.dbapi2 as sqlcipher

from telehealth.private_files import write_private_file
from telehealth.settings import Settings
from telehealth.storage.database import sqlite_path
from telehealth.storage.database_key import DatabaseKey
from telehealth.storage.sqlcipher import (
    DatabaseKeyRefused,
    prepare_encrypted_file,
    rekey,
)


class KeyRotationRefused(Exception):
    """The key cannot be rotated (not SQLite, no database yet, database in use)."""


@dataclass(frozen=True)
class RotatedKey:
    key: DatabaseKey
    # True: written to var/database_key; False: the operator must update the setting.
    stored: bool


def rotate_database_key(settings: Settings) -> RotatedKey:
    path = sqlite_path(settings.database_url)
    if path is None:
        raise KeyRotationRefused(
            "only the embedded SQLite database has a key; PostgreSQL is encrypted by its volume"
        )
    if not path.exists():
        raise KeyRotationRefused(f"there is no database at {path} yet")
    old = settings.resolved_database_key()
    new = DatabaseKey.generate()
    prepare_encrypted_file(path, old)
    pending = settings.database_key_file.with_name(settings.database_key_file.name + ".next")
    if not old.from_setting:
        # Written before the file changes: a crash in between leaves both keys on disk.
        write_private_file(pending, new.hex)
    try:
        rekey(path, old, new)
    except DatabaseKeyRefused as error:
        pending.unlink(missing_ok=True)
        raise KeyRotationRefused(str(error)) from None
    except sqlcipher.OperationalError as error:
        pending.unlink(missing_ok=True)
        if "locked" in str(error) or "busy" in str(error):
            raise KeyRotationRefused(
                "the database is in use; stop the server before rotating its key"
            ) from None
        raise
    if old.from_setting:
        return RotatedKey(new, stored=False)
    os.replace(pending, settings.database_key_file)
    return RotatedKey(new, stored=True)
