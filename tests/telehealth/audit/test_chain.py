"""The audit chain on SQLite and PostgreSQL: links, tampering caught, concurrent appends,
retention that keeps the rest verifiable, and the migration that chains older events."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import DBAPIError

from telehealth import audit, audit_chain
from telehealth.audit_chain import GENESIS_HASH, AuditEventImmutable, stored_digest
from telehealth.audit_retention import purge_audit_events
from telehealth.audit_verify import verify_chain
from telehealth.storage import Database, upgrade_database
from telehealth.storage.models import AuditChainHead, AuditEvent, Base
from tests.telehealth.audit.conftest import START, append_events, raw


async def _verify(database: Database) -> tuple[bool, int | None, str]:
    async with database.session() as session:
        report = await verify_chain(session)
    if report.broken is None:
        return True, None, ""
    return False, report.broken.event_id, report.broken.reason


async def _events(database: Database) -> list[AuditEvent]:
    async with database.session() as session:
        return list((await session.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars())


@pytest.mark.asyncio
async def test_each_event_links_to_the_one_before(database: Database) -> None:
    await append_events(database, 4)
    events = await _events(database)
    assert [event.id for event in events] == [1, 2, 3, 4]
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    assert all(stored_digest(event) == event.hash and len(event.hash) == 64 for event in events)
    assert len({event.hash for event in events}) == 4
    assert events[2].client_address == "192.0.2.7" and events[2].outcome == "success"
    assert await _verify(database) == (True, None, "")


@pytest.mark.asyncio
async def test_an_edited_row_is_named(database: Database) -> None:
    await append_events(database, 5)
    await raw(database, """UPDATE audit_events SET detail = '{"n": 99}' WHERE id = 3""")
    intact, event_id, reason = await _verify(database)
    assert (intact, event_id) == (False, 3)
    assert "edited" in reason


@pytest.mark.asyncio
async def test_an_edited_outcome_or_address_is_named(database: Database) -> None:
    await append_events(database, 3)
    await raw(database, "UPDATE audit_events SET outcome = 'denied' WHERE id = 2")
    assert (await _verify(database))[:2] == (False, 2)


@pytest.mark.asyncio
async def test_a_deleted_middle_row_is_named_by_the_event_after_it(database: Database) -> None:
    await append_events(database, 5)
    await raw(database, "DELETE FROM audit_events WHERE id = 3")
    intact, event_id, reason = await _verify(database)
    assert (intact, event_id) == (False, 4)
    assert "event 2" in reason and "deleted" in reason


@pytest.mark.asyncio
async def test_deleting_the_newest_or_the_oldest_rows_is_caught(database: Database) -> None:
    await append_events(database, 4)
    await raw(database, "DELETE FROM audit_events WHERE id = 4")
    assert (await _verify(database))[:2] == (False, 4)
    await raw(database, "DELETE FROM audit_events WHERE id = 1")
    assert (await _verify(database))[:2] == (False, 2)


@pytest.mark.asyncio
async def test_a_stored_event_cannot_be_changed_through_the_app(database: Database) -> None:
    await append_events(database, 1)
    with pytest.raises(AuditEventImmutable):
        async with database.session() as session:
            event = await session.get(AuditEvent, 1)
            assert event is not None
            event.detail = {"n": 2}
            await session.flush()
    assert await _verify(database) == (True, None, "")


@pytest.mark.asyncio
async def test_a_rolled_back_event_leaves_no_gap(database: Database) -> None:
    await append_events(database, 2)
    with pytest.raises(RuntimeError):
        async with database.session() as session:
            audit.record(session, actor_type="system", actor_id=None, action="lost")
            await session.flush()
            raise RuntimeError("the change failed")
    await append_events(database, 1)
    assert [event.id for event in await _events(database)] == [1, 2, 3]
    assert await _verify(database) == (True, None, "")


@pytest.mark.asyncio
async def test_concurrent_appends_keep_one_chain(database: Database) -> None:
    writers, each = 8, 5
    # A second engine of its own, as another server process would have.
    other = Database(database.url)

    async def writer(number: int) -> None:
        engine = database if number % 2 else other
        for index in range(each):
            async with engine.session() as session:
                audit.record(
                    session,
                    actor_type="clinician",
                    actor_id=f"w{number}",
                    action="transcript.viewed",
                    detail={"i": index},
                )
                # Other work in the same transaction while the chain is held.
                await session.execute(select(func.count()).select_from(AuditEvent))
                await asyncio.sleep(0)

    try:
        await asyncio.gather(*(writer(number) for number in range(writers)))
    finally:
        await other.close()
    events = await _events(database)
    assert [event.id for event in events] == list(range(1, writers * each + 1))
    assert len({event.prev_hash for event in events}) == len(events)  # nobody forked
    assert await _verify(database) == (True, None, "")
    async with database.session() as session:
        head = await session.get(AuditChainHead, 1)
        assert head is not None and (head.last_id, head.last_hash) == (40, events[-1].hash)


@pytest.mark.asyncio
async def test_purging_the_oldest_events_keeps_the_trail_verifiable(database: Database) -> None:
    await append_events(database, 6)
    async with database.session() as session:
        removed = await purge_audit_events(session, START + timedelta(hours=3))
    assert removed == 3
    events = await _events(database)
    assert [event.id for event in events] == [4, 5, 6, 7]
    assert events[-1].action == "audit.purged"
    assert events[-1].detail == {"events": 3, "through_event": 3}
    assert await _verify(database) == (True, None, "")
    # The anchor is the purged event's hash: deleting the oldest kept row is still caught.
    await raw(database, "DELETE FROM audit_events WHERE id = 4")
    assert (await _verify(database))[:2] == (False, 5)


@pytest.mark.asyncio
async def test_a_purge_stops_at_the_first_newer_event(database: Database) -> None:
    # Event 2 is dated later than the cut-off: event 3 stays too, or the chain would break.
    await append_events(database, 1)
    await append_events(database, 1, start=START + timedelta(days=30))
    await append_events(database, 1)
    async with database.session() as session:
        assert await purge_audit_events(session, START + timedelta(days=1)) == 1
    assert [event.id for event in await _events(database)] == [2, 3, 4]
    assert await _verify(database) == (True, None, "")
    async with database.session() as session:
        assert await purge_audit_events(session, START - timedelta(days=1)) == 0


@pytest.mark.asyncio
async def test_the_migration_chains_events_stored_before_it(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await upgrade_database(database, "0008")
        async with database.engine.begin() as connection:
            for number in range(3):
                await connection.execute(
                    text(
                        "INSERT INTO audit_events (at, actor_type, actor_id, action, detail,"
                        " note) VALUES (:at, 'system', NULL, 'login', :detail, '')"
                    ),
                    {"at": START + timedelta(minutes=number), "detail": f'{{"n": {number}}}'},
                )
        await upgrade_database(database)
        assert await _verify(database) == (True, None, "")
        await append_events(database, 1)
        events = await _events(database)
        assert [event.id for event in events] == [1, 2, 3, 4]
        assert events[3].prev_hash == events[2].hash
        assert await _verify(database) == (True, None, "")
    finally:
        await database.close()


def _audit_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    tables = ("audit_events", "audit_chain_head")
    return [
        d for d in compare_metadata(context, Base.metadata) if any(t in repr(d) for t in tables)
    ]


@pytest.mark.asyncio
async def test_the_migration_matches_the_audit_tables(database: Database) -> None:
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_audit_differences) == []


@pytest.mark.asyncio
async def test_an_append_waiting_on_a_held_chain_gives_up(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_chain, "HEAD_LOCK_TIMEOUT_S", 0.5)
    async with database.session() as holding:
        audit.record(holding, actor_type="system", actor_id=None, action="first")
        await holding.flush()
        started = time.monotonic()
        with pytest.raises(DBAPIError):
            async with database.session() as waiting:
                audit.record(waiting, actor_type="system", actor_id=None, action="second")
                await waiting.flush()
        # PostgreSQL: the lock timeout; SQLite: its busy timeout (5 s).
        assert time.monotonic() - started < 8
    assert [event.action for event in await _events(database)] == ["first"]
    assert await _verify(database) == (True, None, "")
