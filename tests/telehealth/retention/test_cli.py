"""`telehealth retention run [--dry-run]`, run as an operator would (subprocesses), at a
fixed `--as-of` time."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from signaling.pubsub import EventLog, create_backend
from telehealth.storage import Database, upgrade_database
from telehealth.storage.models import IntakeResponseVersion, Invite, Session, Visit
from tests.conftest import make_settings, requires_redis
from tests.services import REDIS_URL
from tests.telehealth.test_cli import assert_one_clear_line, telehealth

from .conftest import NOW, PERIODS, store_records

PERIOD_ENV = {f"TELEHEALTH_{name.upper()}": str(value) for name, value in PERIODS.items()}


async def _stored(tmp_path: Path) -> tuple[int, int, int]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'telehealth.db'}")
    try:
        async with database.session() as session:
            return (
                await session.scalar(select(func.count()).select_from(IntakeResponseVersion)) or 0,
                await session.scalar(select(func.count()).select_from(Session)) or 0,
                await session.scalar(select(func.count()).select_from(Invite)) or 0,
            )
    finally:
        await database.close()


async def _fill(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'telehealth.db'}"
    (tmp_path / "var").mkdir()
    database = Database(url)
    try:
        await upgrade_database(database)
        await store_records(database, make_settings(tmp_path, database_url=url))
    finally:
        await database.close()


@pytest.mark.asyncio
async def test_dry_run_prints_what_would_go_by_kind_and_deletes_nothing(tmp_path: Path) -> None:
    await _fill(tmp_path)
    before = await _stored(tmp_path)
    as_of = NOW.isoformat()

    dry = telehealth(tmp_path, "retention", "run", "--dry-run", "--as-of", as_of, **PERIOD_ENV)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "dry run: nothing was deleted",
        "transcripts: would delete 1 transcript segments and chat messages"
        " (older than 2026-03-03T12:00:00+00:00)",
        "intake: would delete 3 intake responses and their versions"
        " (older than 2026-05-02T12:00:00+00:00)",
        "patient_sessions: would delete 2 patient sessions (older than 2026-05-25T12:00:00+00:00)",
        "invites: would delete 2 invites (older than 2026-05-18T12:00:00+00:00)",
        "audit_events: would delete 0 audit events (older than 2020-06-02T12:00:00+00:00)",
        "room_logs: skipped, kept in the server's memory (memory://):"
        " the server's daily run purges them",
    ]
    assert await _stored(tmp_path) == before

    done = telehealth(tmp_path, "retention", "run", "--as-of", as_of, **PERIOD_ENV)
    assert done.returncode == 0, done.stderr
    assert [re.sub(r" \(older than .*\)$", "", line) for line in done.stdout.splitlines()] == [
        "transcripts: deleted 1 transcript segments and chat messages",
        "intake: deleted 3 intake responses and their versions",
        "patient_sessions: deleted 2 patient sessions",
        "invites: deleted 2 invites",
        "audit_events: deleted 0 audit events",
        "room_logs: skipped, kept in the server's memory (memory://):"
        " the server's daily run purges them",
    ]
    versions, sessions, invites = before
    assert await _stored(tmp_path) == (versions - 2, sessions - 2, invites - 2)


def test_a_purge_as_of_a_later_time_is_refused(tmp_path: Path) -> None:
    later = telehealth(tmp_path, "retention", "run", "--as-of", "2999-01-01T00:00")
    assert_one_clear_line(later, 1, "--as-of may be in the future only with --dry-run")
    garbled = telehealth(tmp_path, "retention", "run", "--dry-run", "--as-of", "soon")
    assert_one_clear_line(garbled, 1, "--as-of must be an ISO 8601 time")


@requires_redis
@pytest.mark.asyncio
async def test_with_redis_the_command_deletes_the_room_logs_too(tmp_path: Path) -> None:
    await _fill(tmp_path)
    assert REDIS_URL is not None
    events = create_backend(REDIS_URL)  # the prefix the server uses
    await events.connect()
    ended: list[str] = []
    try:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'telehealth.db'}")
        try:
            async with database.session() as session:
                ended += (
                    await session.scalars(select(Visit.id).where(Visit.ended_at.is_not(None)))
                ).all()
        finally:
            await database.close()
        for visit_id in ended:
            await events.append(f"visit:{visit_id}", b"an event")
        env = {**PERIOD_ENV, "TELEHEALTH_REDIS_URL": REDIS_URL}
        dry = telehealth(
            tmp_path, "retention", "run", "--dry-run", "--as-of", NOW.isoformat(), **env
        )
        assert dry.returncode == 0, dry.stderr
        assert dry.stdout.splitlines()[-1].startswith("room_logs: would delete 3 visit room logs")
        done = telehealth(tmp_path, "retention", "run", "--as-of", NOW.isoformat(), **env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1].startswith("room_logs: deleted 3 visit room logs")
        left = {visit_id: await _has_entries(events, visit_id) for visit_id in ended}
        assert sorted(left.values()) == [False, False, False, True]  # the recent visit's stays
    finally:
        for visit_id in ended:
            await events.delete(f"visit:{visit_id}")
        await events.close()


async def _has_entries(events: EventLog, visit_id: str) -> bool:
    async with events.subscribe(f"visit:{visit_id}") as entries:
        try:
            async with asyncio.timeout(0.3):
                async for _ in entries:
                    return True
        except TimeoutError:
            return False
    return False
