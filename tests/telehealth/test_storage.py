"""Migrations and the visit tables, on SQLite always and on PostgreSQL when CI provides it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import inspect, select

from telehealth.clinicians import ClinicianExists, create_clinician
from telehealth.security import hash_token
from telehealth.storage import Database, upgrade_database
from telehealth.storage.database_key import DatabaseKey
from telehealth.storage.migrate import current_revision
from telehealth.storage.models import AuditEvent, Invite, VisitStatus
from telehealth.visits.lifecycle import InvalidTransition
from telehealth.visits.service import (
    InviteInvalid,
    create_visit,
    redeem_invite,
    set_status,
)

EXPECTED_TABLES = {"clinicians", "visits", "invites", "audit_events", "alembic_version"}


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    # SQLite encrypted, as the service runs it (the key is ignored for PostgreSQL).
    db = Database(database_url, sqlite_key=DatabaseKey.generate())
    yield db
    await db.close()


async def _tables(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


@pytest.mark.asyncio
async def test_migrations_create_the_tables_and_are_idempotent(database: Database) -> None:
    assert await current_revision(database) is None
    await upgrade_database(database)
    assert await _tables(database) >= EXPECTED_TABLES
    head = await current_revision(database)
    assert head is not None
    await upgrade_database(database)
    assert await current_revision(database) == head


@pytest.mark.asyncio
async def test_downgrade_to_base_and_back(database: Database) -> None:
    await upgrade_database(database)
    from alembic import command

    from telehealth.storage.migrate import alembic_config

    def downgrade(connection: object) -> None:
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    async with database.engine.begin() as connection:
        await connection.run_sync(downgrade)
    assert await _tables(database) <= {"alembic_version"}
    await upgrade_database(database)
    assert await _tables(database) >= EXPECTED_TABLES


@pytest.mark.asyncio
async def test_visit_lifecycle_invites_and_audit(database: Database) -> None:
    await upgrade_database(database)
    scheduled = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    async with database.session() as session:
        clinician = await create_clinician(
            session, email="Ada@Clinic.example", display_name="Dr Ada", password="a long passphrase"
        )
        visit, invite = await create_visit(
            session,
            clinician_id=clinician.id,
            scheduled_at=scheduled,
            invite_ttl=timedelta(hours=24),
        )
    assert clinician.email == "ada@clinic.example"
    assert invite.expires_at == scheduled + timedelta(hours=24)
    assert len(invite.token) >= 22  # 128 bits or more in URL-safe base64

    async with database.session() as session:
        stored = (await session.execute(select(Invite))).scalar_one()
        assert stored.token_hash == hash_token(invite.token)
        assert invite.token not in stored.token_hash
        opened = await redeem_invite(session, invite.token, now=scheduled)
        assert opened.id == visit.id
        assert opened.scheduled_at == scheduled  # timezone-aware round trip
        with pytest.raises(InviteInvalid):
            await redeem_invite(session, invite.token, now=scheduled + timedelta(hours=25))
        with pytest.raises(InviteInvalid):
            await redeem_invite(session, "not-a-token", now=scheduled)

        for status in (VisitStatus.waiting, VisitStatus.in_call, VisitStatus.ended):
            await set_status(session, opened, status, actor_type="system", actor_id=None)
        assert opened.started_at is not None and opened.ended_at is not None
        with pytest.raises(InvalidTransition):
            await set_status(
                session, opened, VisitStatus.waiting, actor_type="system", actor_id=None
            )
        with pytest.raises(InviteInvalid, match="no longer open"):
            await redeem_invite(session, invite.token, now=scheduled)

    async with database.session() as session:
        actions = [e.action for e in (await session.execute(select(AuditEvent))).scalars()]
    assert actions.count("visit.status") == 3
    assert "visit.created" in actions and "clinician.created" in actions


@pytest.mark.asyncio
async def test_duplicate_clinician_is_refused(database: Database) -> None:
    await upgrade_database(database)
    async with database.session() as session:
        await create_clinician(
            session, email="b@c.example", display_name="B", password="another long one"
        )
    async with database.session() as session:
        with pytest.raises(ClinicianExists):
            await create_clinician(
                session, email="B@c.example", display_name="B", password="another long one"
            )
