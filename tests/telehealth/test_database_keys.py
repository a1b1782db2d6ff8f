"""The database key: generated or set, kept 0600 in a 0700 `var/`, rotated; old files."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from telehealth.clinicians import create_clinician
from telehealth.private_files import write_private_file_once
from telehealth.settings import SettingsError
from telehealth.storage import Database, DatabaseUnavailable, upgrade_database
from telehealth.storage.database_key import DatabaseKey
from telehealth.storage.models import Clinician
from telehealth.storage.sqlcipher import DatabaseKeyRefused, open_keyed
from tests.conftest import make_settings
from tests.telehealth.api_client import running_app
from tests.telehealth.test_cli import telehealth

KEY = "0123456789abcdef" * 4
PASSWORD = "a long enough passphrase"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o000, 0o022])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The process umask for one test: permissive (0) and the common default (022)."""
    value: int = request.param
    previous = os.umask(value)
    try:
        yield value
    finally:
        os.umask(previous)


async def _count_clinicians(database: Database) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(Clinician))).scalar())


@pytest.mark.asyncio
async def test_var_and_every_file_in_it_are_owner_only_whatever_the_umask(
    tmp_path: Path, umask: int
) -> None:
    settings = make_settings(tmp_path)
    var = tmp_path / "var"
    async with running_app(settings) as app:
        async with app.state.services.database.session() as session:
            await create_clinician(
                session, email="ada@clinic.example", display_name="Dr Ada", password=PASSWORD
            )
        names = {path.name for path in var.iterdir()}
        assert {"test.db", "test.db-wal", "test.db-shm", "secret_key", "database_key"} <= names
        assert _mode(var) == 0o700
        assert {path.name: _mode(path) for path in var.iterdir()} == dict.fromkeys(names, 0o600)
    assert _mode(var) == 0o700
    assert all(_mode(path) == 0o600 for path in var.iterdir())


@pytest.mark.asyncio
async def test_an_earlier_versions_readable_var_is_tightened(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    os.chmod(var, 0o755)
    (var / "secret_key").write_text("x" * 40)
    os.chmod(var / "secret_key", 0o644)
    settings = make_settings(tmp_path)
    async with running_app(settings):
        pass
    assert _mode(var) == 0o700
    assert _mode(var / "secret_key") == 0o600 and _mode(var / "test.db") == 0o600


@pytest.mark.asyncio
async def test_the_generated_key_is_kept_and_opens_the_database_again(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    database = Database.for_settings(settings)
    await upgrade_database(database)
    async with database.session() as session:
        await create_clinician(
            session, email="a@clinic.example", display_name="A", password=PASSWORD
        )
    await database.close()
    key = (tmp_path / "var" / "database_key").read_text()
    assert DatabaseKey.is_valid(key)

    again = Database.for_settings(make_settings(tmp_path))
    try:
        assert await _count_clinicians(again) == 1
    finally:
        await again.close()
    assert (tmp_path / "var" / "database_key").read_text() == key
    # Plain SQLite (and so the sqlite3 shell) cannot read the file.
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        sqlite3.connect(tmp_path / "var" / "test.db").execute("SELECT * FROM sqlite_master")


@pytest.mark.asyncio
async def test_a_key_from_the_setting_is_used_and_a_wrong_one_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_key=KEY)
    database = Database.for_settings(settings)
    await upgrade_database(database)
    await database.close()
    assert not (tmp_path / "var" / "database_key").exists()
    open_keyed(tmp_path / "var" / "test.db", DatabaseKey(KEY), 1.0).close()

    wrong = Database.for_settings(make_settings(tmp_path, database_key="f" * 64))
    try:
        with pytest.raises(DatabaseUnavailable, match="database key does not open") as refused:
            await wrong.ping()
        assert "f" * 64 not in str(refused.value)
    finally:
        await wrong.close()


@pytest.mark.parametrize("bad", ["short", "g" * 64, "0" * 63, "changeme"])
def test_a_database_key_setting_must_be_64_hex_characters(tmp_path: Path, bad: str) -> None:
    from telehealth.settings import load_settings

    with pytest.raises(SettingsError, match="TELEHEALTH_DATABASE_KEY: must be 64 hex"):
        load_settings(_env_file=None, data_dir=tmp_path, database_key=bad)


@pytest.mark.asyncio
async def test_a_plaintext_database_of_an_earlier_version_is_encrypted_in_place(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    plain = Database(url)
    await upgrade_database(plain)
    async with plain.session() as session:
        await create_clinician(
            session, email="kept@clinic.example", display_name="Dr Kept", password=PASSWORD
        )
    await plain.close()
    assert b"kept@clinic.example" in path.read_bytes()

    key = DatabaseKey.generate()
    encrypted = Database(url, sqlite_key=key)
    try:
        assert await _count_clinicians(encrypted) == 1
        await upgrade_database(encrypted)  # the schema came along: nothing left to do
    finally:
        await encrypted.close()
    assert not path.read_bytes().startswith(b"SQLite format 3")
    assert b"kept@clinic.example" not in path.read_bytes()
    assert _mode(path) == 0o600
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".old.db")]


def test_rekey_replaces_a_generated_key_and_the_old_one_no_longer_opens(tmp_path: Path) -> None:
    assert telehealth(tmp_path, "db", "upgrade").returncode == 0
    key_file = tmp_path / "var" / "database_key"
    old = DatabaseKey(key_file.read_text())
    result = telehealth(tmp_path, "db", "rekey")
    assert result.returncode == 0, result.stderr
    assert "re-encrypted" in result.stdout and old.hex not in result.stdout
    new = DatabaseKey(key_file.read_text())
    assert new != old and _mode(key_file) == 0o600
    assert new.hex not in result.stdout  # the key stays in var/, never on the terminal
    with pytest.raises(DatabaseKeyRefused):
        open_keyed(tmp_path / "var" / "telehealth.db", old, 1.0)
    open_keyed(tmp_path / "var" / "telehealth.db", new, 1.0).close()
    assert not list((tmp_path / "var").glob("database_key.*"))
    upgraded = telehealth(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr


def test_rekey_prints_the_new_key_when_the_old_one_came_from_the_setting(tmp_path: Path) -> None:
    assert telehealth(tmp_path, "db", "upgrade", TELEHEALTH_DATABASE_KEY=KEY).returncode == 0
    result = telehealth(tmp_path, "db", "rekey", TELEHEALTH_DATABASE_KEY=KEY)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip().splitlines()[-1]
    assert printed.startswith("TELEHEALTH_DATABASE_KEY=")
    new = printed.removeprefix("TELEHEALTH_DATABASE_KEY=")
    assert DatabaseKey.is_valid(new) and new != KEY
    assert not (tmp_path / "var" / "database_key").exists()
    stale = telehealth(tmp_path, "db", "upgrade", TELEHEALTH_DATABASE_KEY=KEY)
    assert stale.returncode == 1 and "database key does not open" in stale.stderr
    assert KEY not in stale.stderr
    assert telehealth(tmp_path, "db", "upgrade", TELEHEALTH_DATABASE_KEY=new).returncode == 0


def test_rekey_refuses_while_the_database_is_in_use(tmp_path: Path) -> None:
    assert telehealth(tmp_path, "db", "upgrade").returncode == 0
    key_file = tmp_path / "var" / "database_key"
    old = DatabaseKey(key_file.read_text())
    holder = open_keyed(tmp_path / "var" / "telehealth.db", old, 1.0)
    try:
        holder.execute("PRAGMA journal_mode=WAL")
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM clinicians").fetchall()
        result = telehealth(tmp_path, "db", "rekey")
    finally:
        holder.close()
    assert result.returncode == 1
    assert "stop the server" in result.stderr and "Traceback" not in result.stderr
    assert DatabaseKey(key_file.read_text()) == old
    open_keyed(tmp_path / "var" / "telehealth.db", old, 1.0).close()


@pytest.mark.asyncio
async def test_the_encrypted_database_keeps_wal_and_takes_concurrent_writers(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    first, second = Database.for_settings(settings), Database.for_settings(settings)
    try:
        await upgrade_database(first)
        async with first.engine.connect() as connection:
            pragmas = {
                name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "busy_timeout", "secure_delete", "foreign_keys")
            }
            cipher = (await connection.exec_driver_sql("PRAGMA cipher_version")).scalar()
        assert pragmas == {
            "journal_mode": "wal",
            "busy_timeout": 5000,
            "secure_delete": 1,
            "foreign_keys": 1,
        }
        assert str(cipher).startswith("4.")

        async def writer(database: Database, name: str) -> None:
            for index in range(25):
                async with database.session() as session:
                    session.add(
                        Clinician(
                            email=f"{name}{index}@clinic.example",
                            display_name=name,
                            password_hash="-",
                        )
                    )

        # Two handles (as two processes would have) write at once: WAL and the busy timeout
        # serialise them, nobody gets "database is locked".
        await asyncio.gather(writer(first, "a"), writer(second, "b"), writer(first, "c"))
        assert await _count_clinicians(second) == 75
    finally:
        await first.close()
        await second.close()


def test_a_key_generated_by_two_processes_at_once_is_the_first_ones(
    tmp_path: Path, umask: int
) -> None:
    path = tmp_path / "database_key"
    assert write_private_file_once(path, "first") == "first"
    assert write_private_file_once(path, "second") == "first"
    assert path.read_text() == "first" and _mode(path) == 0o600
    assert os.listdir(tmp_path) == ["database_key"]


def test_a_damaged_plaintext_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(DatabaseUnavailable, match="cannot encrypt the plaintext database"):
        Database(f"sqlite+aiosqlite:///{path}", sqlite_key=DatabaseKey.generate())
