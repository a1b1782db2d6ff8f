"""A migrated database holding, for each kind of record, one row just past its retention
period and one just inside it, at fixed times around `NOW`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio

from telehealth.settings import Settings
from telehealth.storage import Database, upgrade_database
from telehealth.storage.models import (
    ChatMessage,
    Clinician,
    IntakeResponse,
    IntakeResponseVersion,
    Invite,
    Session,
    Visit,
    VisitStatus,
    new_id,
)
from tests.conftest import make_settings

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PERIODS = {
    "retention_days": 90,
    "retention_intake_days": 30,
    "retention_patient_session_days": 7,
    "retention_invite_days": 14,
    "retention_room_log_hours": 2,
}
SECRET_ANSWER = "Chest tightness since Monday"


@dataclass(frozen=True)
class Records:
    """Ids of what was stored: `old_*` is past its period at NOW, `young_*` is not."""

    database: Database
    settings: Settings
    ancient_visit: str  # ended 100 days before NOW: its chat is past too
    old_visit: str  # ended 40 days before NOW: intake and room log past, chat not
    young_visit: str  # ended 20 days before NOW: intake kept, room log past
    recent_visit: str  # ended an hour before NOW: everything kept
    live_visit: str  # in a call, never ended: everything kept
    old_sessions: frozenset[str]
    young_sessions: frozenset[str]
    staff_session: str
    old_invites: frozenset[str]
    young_invites: frozenset[str]


def _intake(visit_id: str, at: datetime, versions: int) -> list[object]:
    response = {"resourceType": "QuestionnaireResponse", "item": [{"text": SECRET_ANSWER}]}
    rows: list[object] = [
        IntakeResponse(
            visit_id=visit_id,
            status="completed",
            source="form",
            response=response,
            summary_lines=[],
            flags=[],
            revision=versions,
            created_at=at,
            updated_at=at,
            completed_at=at,
        )
    ]
    rows += [
        IntakeResponseVersion(
            visit_id=visit_id,
            version=n,
            source="form",
            response=response,
            summary_lines=[],
            flags=[],
            submitted_at=at,
        )
        for n in range(1, versions + 1)
    ]
    return rows


def _patient_session(visit_id: str, expires: datetime, revoked: datetime | None = None) -> Session:
    return Session(
        token_hash=new_id() + new_id(),
        kind="patient",
        visit_id=visit_id,
        display_name="Jo",
        created_at=expires - timedelta(hours=8),
        expires_at=expires,
        revoked_at=revoked,
    )


def _invite(visit_id: str, expires: datetime, revoked: datetime | None = None) -> Invite:
    return Invite(
        visit_id=visit_id,
        token_hash=new_id() + new_id(),
        expires_at=expires,
        created_at=expires - timedelta(days=1),
        revoked_at=revoked,
    )


async def store_records(database: Database, settings: Settings) -> Records:
    async with database.session() as session:
        ada = Clinician(email="ada@clinic.example", display_name="Dr Ada", password_hash="-")
        session.add(ada)
        await session.flush()

        def visit(ended_ago: timedelta | None) -> Visit:
            ended = None if ended_ago is None else NOW - ended_ago
            row = Visit(
                id=new_id(),
                clinician_id=ada.id,
                scheduled_at=(ended or NOW) - timedelta(minutes=30),
                status=VisitStatus.in_call if ended is None else VisitStatus.ended,
                patient_label="Mrs D.",
                created_at=NOW - timedelta(days=60),
                updated_at=NOW - timedelta(days=60),
                ended_at=ended,
            )
            session.add(row)
            return row

        ancient = visit(timedelta(days=100))
        old = visit(timedelta(days=40))
        young = visit(timedelta(days=20))
        recent = visit(timedelta(hours=1))
        live = visit(None)
        await session.flush()
        session.add_all(_intake(old.id, NOW - timedelta(days=41), versions=2))
        session.add_all(_intake(young.id, NOW - timedelta(days=21), versions=1))
        session.add_all(_intake(live.id, NOW - timedelta(hours=1), versions=1))
        for visit_id, ago in ((ancient.id, timedelta(days=100)), (old.id, timedelta(days=40))):
            session.add(
                ChatMessage(visit_id=visit_id, sender_role="patient", text="hi", sent_at=NOW - ago)
            )
        old_sessions = [
            _patient_session(old.id, NOW - timedelta(days=8)),
            # Revoked long ago though its lifetime would have run on.
            _patient_session(old.id, NOW + timedelta(days=1), revoked=NOW - timedelta(days=10)),
        ]
        young_sessions = [
            _patient_session(young.id, NOW - timedelta(days=6)),
            _patient_session(live.id, NOW + timedelta(hours=4)),
        ]
        staff = Session(
            token_hash=new_id() + new_id(),
            kind="clinician",
            clinician_id=ada.id,
            created_at=NOW - timedelta(days=100),
            expires_at=NOW - timedelta(days=99),
        )
        old_invites = [
            _invite(old.id, NOW - timedelta(days=15)),
            _invite(young.id, NOW + timedelta(hours=1), revoked=NOW - timedelta(days=20)),
        ]
        young_invites = [
            _invite(young.id, NOW - timedelta(days=13)),
            _invite(live.id, NOW + timedelta(hours=20)),
        ]
        session.add_all([*old_sessions, *young_sessions, staff, *old_invites, *young_invites])
        await session.flush()
        return Records(
            database,
            settings,
            ancient.id,
            old.id,
            young.id,
            recent.id,
            live.id,
            frozenset(s.token_hash for s in old_sessions),
            frozenset(s.token_hash for s in young_sessions),
            staff.token_hash,
            frozenset(i.id for i in old_invites),
            frozenset(i.id for i in young_invites),
        )


@pytest_asyncio.fixture
async def records(tmp_path: Path, database_url: str) -> AsyncIterator[Records]:
    database = Database(database_url)
    await upgrade_database(database)
    settings = make_settings(tmp_path, database_url=database_url, **PERIODS)
    try:
        yield await store_records(database, settings)
    finally:
        await database.close()
