"""The retention run: each kind goes after its own period, younger rows stay, a dry run
counts without deleting, and room logs are deleted from the real event log backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from signaling.hub import RoomHub
from signaling.pubsub import EventLog, create_backend
from telehealth.retention import RETENTION_KINDS, RetentionTargets, run_retention
from telehealth.retention_task import RetentionTask
from telehealth.storage.models import (
    AuditEvent,
    ChatMessage,
    IntakeResponse,
    IntakeResponseVersion,
    Invite,
    Session,
    Visit,
)
from tests.conftest import requires_redis
from tests.services import REDIS_URL

from .conftest import NOW, Records

EXPECTED = {
    "transcripts": 1,  # the ancient visit's chat message
    "intake": 3,  # the old visit's response and its two versions
    "patient_sessions": 2,
    "invites": 2,
    "audit_events": 0,  # all recorded by the test itself, long after six years ago
    "room_logs": 3,  # ancient, old and young visits; not the recent or live one
}


@pytest_asyncio.fixture(params=["memory", pytest.param("redis", marks=requires_redis)])
async def events(request: pytest.FixtureRequest) -> AsyncIterator[EventLog]:
    if request.param == "memory":
        log = create_backend("memory://")
    else:
        assert REDIS_URL is not None
        prefix = f"telehealth:test:{id(request)}:"
        log = create_backend(REDIS_URL, key_prefix=prefix)
    await log.connect()
    yield log
    await log.close()


async def _first_entry(log: EventLog, visit_id: str) -> bytes | None:
    """The first entry of the visit's room log, None if it has none (deleted or never)."""
    async with log.subscribe(f"visit:{visit_id}") as entries:
        try:
            async with asyncio.timeout(0.3):
                async for data in entries:
                    return data
        except TimeoutError:
            return None
    return None


async def _remaining(records: Records) -> dict[str, object]:
    async with records.database.session() as session:
        return {
            "chat": set((await session.scalars(select(ChatMessage.visit_id))).all()),
            "intake": set((await session.scalars(select(IntakeResponse.visit_id))).all()),
            "versions": await session.scalar(
                select(func.count()).select_from(IntakeResponseVersion)
            ),
            "sessions": set((await session.scalars(select(Session.token_hash))).all()),
            "invites": set((await session.scalars(select(Invite.id))).all()),
            "visits": await session.scalar(select(func.count()).select_from(Visit)),
        }


@pytest.mark.asyncio
async def test_each_kind_goes_after_its_period_and_younger_rows_stay(
    records: Records, events: EventLog
) -> None:
    hub = RoomHub(events)
    visits = [records.ancient_visit, records.old_visit, records.young_visit]
    visits += [records.recent_visit, records.live_visit]
    for visit_id in visits:
        await events.append(f"visit:{visit_id}", b"an event")
    targets = RetentionTargets(records.database, hub.delete_visit_log)
    before = await _remaining(records)

    dry = await run_retention(targets, records.settings, NOW, dry_run=True)
    assert {outcome.name: outcome.count for outcome in dry} == EXPECTED
    assert [outcome.name for outcome in dry] == [kind.name for kind in RETENTION_KINDS]
    cutoffs = {outcome.name: NOW - outcome.cutoff for outcome in dry}
    assert cutoffs == {
        "transcripts": timedelta(days=90),
        "intake": timedelta(days=30),
        "patient_sessions": timedelta(days=7),
        "invites": timedelta(days=14),
        "audit_events": timedelta(days=2190),
        "room_logs": timedelta(hours=2),
    }
    assert await _remaining(records) == before
    assert all([await _first_entry(events, visit_id) for visit_id in visits])

    done = await run_retention(targets, records.settings, NOW)
    assert {outcome.name: (outcome.count, outcome.failed) for outcome in done} == {
        name: (count, None) for name, count in EXPECTED.items()
    }
    after = await _remaining(records)
    assert after["chat"] == {records.old_visit}
    assert after["intake"] == {records.young_visit, records.live_visit}
    assert after["versions"] == 2
    assert after["sessions"] == {*records.young_sessions, records.staff_session}
    assert after["invites"] == set(records.young_invites)
    assert after["visits"] == 5  # visits themselves stay
    assert [await _first_entry(events, visit_id) for visit_id in visits] == [
        None,
        None,
        None,
        b"an event",
        b"an event",
    ]

    again = await run_retention(targets, records.settings, NOW)
    assert {outcome.name: outcome.count for outcome in again} == dict.fromkeys(EXPECTED, 0)
    # An hour later the recent visit's log is past its two hours too.
    later = await run_retention(targets, records.settings, NOW + timedelta(hours=1, minutes=1))
    assert {o.name: o.count for o in later}["room_logs"] == 1
    assert await _first_entry(events, records.recent_visit) is None
    assert await _first_entry(events, records.live_visit) == b"an event"

    async with records.database.session() as session:
        audited = (
            await session.execute(
                select(AuditEvent.action, AuditEvent.visit_id, AuditEvent.detail)
                .where(AuditEvent.action.in_(["intake.purged", "retention.purged"]))
                .order_by(AuditEvent.id)
            )
        ).all()
    assert ("intake.purged", records.old_visit, {"responses": 1, "versions": 2}) in audited
    kinds = {detail["kind"]: detail["rows"] for action, _, detail in audited if "kind" in detail}
    assert kinds == {"patient_sessions": 2, "invites": 2, "room_logs": 1}


@pytest.mark.asyncio
async def test_room_logs_out_of_reach_are_skipped_and_the_rest_still_runs(
    records: Records,
) -> None:
    outcomes = await run_retention(RetentionTargets(records.database), records.settings, NOW)
    by_name = {outcome.name: outcome for outcome in outcomes}
    assert by_name["room_logs"].skipped is not None and by_name["room_logs"].count == 0
    assert by_name["intake"].count == EXPECTED["intake"]
    async with records.database.session() as session:
        pending = await session.scalar(
            select(func.count()).where(Visit.room_log_purged_at.is_(None))
        )
    assert pending == 5  # nothing marked as deleted that was not


@pytest.mark.asyncio
async def test_a_failing_kind_is_reported_and_the_others_still_run(records: Records) -> None:
    # A Redis event log never connected: every command fails as when Redis is down.
    hub = RoomHub(create_backend("redis://127.0.0.1:9/0"))
    task = RetentionTask(RetentionTargets(records.database, hub.delete_visit_log), records.settings)
    outcomes = await task.run_once(NOW)
    by_name = {outcome.name: outcome for outcome in outcomes}
    assert by_name["room_logs"].failed == "BackendUnavailable"
    assert by_name["invites"].count == EXPECTED["invites"]
    assert by_name["intake"].count == EXPECTED["intake"]
    again = {outcome.name: outcome for outcome in await task.run_once(NOW)}
    assert again["room_logs"].failed == "BackendUnavailable"  # nothing was marked as done
