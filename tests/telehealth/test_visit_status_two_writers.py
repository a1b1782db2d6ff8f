"""The visit status with two processes: the patient's process stores `waiting`, the
clinician's stores `admitted` and `call_ended`, each with its own writer, in whichever order
they happen to commit (seen behind nginx: the clinician's admission stored before the
patient's waiting was refused, and the visit stayed `waiting` after the call ended)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select

from signaling.room_model import RoomTransition
from telehealth.clinicians import create_clinician
from telehealth.realtime.transitions import VisitStatusRecorder
from telehealth.storage import Database, upgrade_database
from telehealth.storage.models import AuditEvent, Clinician, Visit, VisitStatus
from telehealth.visits.service import create_visit

SCHEDULED = datetime(2030, 3, 4, 9, 30, tzinfo=UTC)


def _transition(kind: str, visit_id: str, role: str = "patient") -> RoomTransition:
    return RoomTransition(kind=kind, visit_id=visit_id, peer_id="p1", role=role, at=0.0)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    opened = Database(database_url)
    await upgrade_database(opened)
    async with opened.session() as session:
        await create_clinician(
            session, email="ada@clinic.example", display_name="Dr Ada", password="another long one"
        )
    try:
        yield opened
    finally:
        await opened.close()


async def _new_visit(database: Database) -> str:
    async with database.session() as session:
        clinician = (await session.execute(select(Clinician))).scalar_one()
        visit, _ = await create_visit(
            session,
            clinician_id=clinician.id,
            scheduled_at=SCHEDULED,
            invite_ttl=timedelta(hours=1),
        )
        return visit.id


async def _status(database: Database, visit_id: str) -> VisitStatus:
    async with database.session() as session:
        visit = await session.get(Visit, visit_id)
        assert visit is not None
        return visit.status


async def _status_changes(database: Database, visit_id: str) -> list[tuple[str, str]]:
    async with database.session() as session:
        events = (
            await session.execute(
                select(AuditEvent)
                .where(AuditEvent.visit_id == visit_id, AuditEvent.action == "visit.status")
                .order_by(AuditEvent.at, AuditEvent.id)
            )
        ).scalars()
        return [(e.detail["from"], e.detail["to"]) for e in events]


@pytest.mark.asyncio
async def test_the_clinicians_process_storing_first_still_ends_the_visit(
    database: Database,
) -> None:
    visit_id = await _new_visit(database)
    clinicians_process, patients_process = (
        VisitStatusRecorder(database),
        VisitStatusRecorder(database),
    )
    await clinicians_process.write((visit_id, _transition("admitted", visit_id)))
    assert await _status(database, visit_id) == VisitStatus.in_call
    await clinicians_process.write((visit_id, _transition("call_ended", visit_id, "clinician")))
    # The patient's `waiting`, written last, changes nothing.
    await patients_process.write((visit_id, _transition("waiting", visit_id)))
    assert await _status(database, visit_id) == VisitStatus.ended
    changes = await _status_changes(database, visit_id)
    assert changes == [("scheduled", "waiting"), ("waiting", "in_call"), ("in_call", "ended")]


@pytest.mark.asyncio
async def test_in_order_the_status_moves_one_step_at_a_time(database: Database) -> None:
    visit_id = await _new_visit(database)
    recorder = VisitStatusRecorder(database)
    for kind, role in (
        ("waiting", "patient"),
        ("admitted", "patient"),
        ("call_ended", "clinician"),
    ):
        await recorder.write((visit_id, _transition(kind, visit_id, role)))
    assert await _status(database, visit_id) == VisitStatus.ended
    changes = await _status_changes(database, visit_id)
    assert changes == [("scheduled", "waiting"), ("waiting", "in_call"), ("in_call", "ended")]


@pytest.mark.asyncio
async def test_two_processes_writing_at_once_lose_no_update(
    database_url: str, database: Database
) -> None:
    """Two engines (two processes' connection pools) apply `waiting` and `admitted` to the
    same visits at the same moment: every visit ends up in the call, never back in waiting."""
    other_process = Database(database_url)
    try:
        patients_process = VisitStatusRecorder(database)
        clinicians_process = VisitStatusRecorder(other_process)
        visit_ids = [await _new_visit(database) for _ in range(12)]
        for visit_id in visit_ids:
            await asyncio.gather(
                patients_process.write((visit_id, _transition("waiting", visit_id))),
                clinicians_process.write((visit_id, _transition("admitted", visit_id))),
            )
        statuses = [await _status(database, visit_id) for visit_id in visit_ids]
        assert statuses == [VisitStatus.in_call] * len(visit_ids)
    finally:
        await other_process.close()
