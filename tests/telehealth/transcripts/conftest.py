"""A migrated database (SQLite, and PostgreSQL when configured) with two clinicians and visits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest_asyncio

from telehealth.storage import Database, upgrade_database
from telehealth.storage.database_key import DatabaseKey
from telehealth.storage.models import Clinician
from telehealth.transcripts.consent import record_consent
from telehealth.visits.service import create_visit

SCHEDULED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Clinic:
    """Ada has a consenting visit and a declining one; Bo has one consenting visit."""

    database: Database
    ada: str
    bo: str
    consented: str
    declined: str
    bos_visit: str


async def new_visit(database: Database, clinician_id: str, *, label: str, at: datetime) -> str:
    async with database.session() as session:
        visit, _ = await create_visit(
            session,
            clinician_id=clinician_id,
            scheduled_at=at,
            patient_label=label,
            invite_ttl=timedelta(hours=24),
        )
        return visit.id


async def give_consent(database: Database, visit_id: str, transcript: bool) -> None:
    async with database.session() as session:
        await record_consent(session, visit_id, transcript=transcript, session_hash="a" * 64)


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    # SQLite encrypted, as the service runs it: search (FTS5) is tested on SQLCipher.
    db = Database(database_url, sqlite_key=DatabaseKey.generate())
    await upgrade_database(db)
    yield db
    await db.close()


@pytest_asyncio.fixture
async def clinic(database: Database) -> Clinic:
    async with database.session() as session:
        # Nobody signs in here, so no password hashing (argon2 is slow on purpose).
        ada = Clinician(email="ada@clinic.example", display_name="Dr Ada", password_hash="-")
        bo = Clinician(email="bo@clinic.example", display_name="Dr Bo", password_hash="-")
        session.add_all([ada, bo])
        await session.flush()
    consented = await new_visit(database, ada.id, label="J. D.", at=SCHEDULED)
    declined = await new_visit(database, ada.id, label="K. T.", at=SCHEDULED + timedelta(hours=1))
    bos_visit = await new_visit(database, bo.id, label="L. M.", at=SCHEDULED)
    await give_consent(database, consented, True)
    await give_consent(database, declined, False)
    await give_consent(database, bos_visit, True)
    return Clinic(database, ada.id, bo.id, consented, declined, bos_visit)
