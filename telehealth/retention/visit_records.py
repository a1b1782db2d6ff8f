"""Retention of what belongs to a visit: transcripts and chat, the intake with its
versions, and the room event log.

A visit counts from when it ended (or, never ended, from its scheduled time), as the
transcripts always did. Each batch of visits is its own transaction, so a large backlog
does not hold one long write lock; the visit row itself stays, with its audit trail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update

from telehealth import audit
from telehealth.retention.targets import RetentionTargets
from telehealth.storage.models import IntakeResponse, IntakeResponseVersion, Visit, utcnow
from telehealth.transcripts.retention import (
    count_ended_before,
    purge_ended_before,
    visit_over_before,
)

BATCH_VISITS = 200


async def purge_transcripts(targets: RetentionTargets, cutoff: datetime) -> int:
    result = await purge_ended_before(targets.database, cutoff)
    return result.segments + result.chat_messages


async def count_transcripts(targets: RetentionTargets, cutoff: datetime) -> int:
    return await count_ended_before(targets.database, cutoff)


def _has_intake() -> ColumnElement[bool]:
    return or_(
        select(IntakeResponse.id).where(IntakeResponse.visit_id == Visit.id).exists(),
        select(IntakeResponseVersion.id).where(IntakeResponseVersion.visit_id == Visit.id).exists(),
    )


async def purge_intake(targets: RetentionTargets, cutoff: datetime) -> int:
    """Delete the intake (its current response and every version) of visits over before
    `cutoff`; an `intake.purged` audit event per visit says how much went."""
    removed = 0
    while True:
        async with targets.database.session() as session:
            visit_ids = list(
                (
                    await session.scalars(
                        select(Visit.id)
                        .where(visit_over_before(cutoff), _has_intake())
                        .order_by(Visit.id)
                        .limit(BATCH_VISITS)
                    )
                ).all()
            )
            if not visit_ids:
                return removed
            for visit_id in visit_ids:
                versions = await session.execute(
                    delete(IntakeResponseVersion).where(IntakeResponseVersion.visit_id == visit_id)
                )
                responses = await session.execute(
                    delete(IntakeResponse).where(IntakeResponse.visit_id == visit_id)
                )
                counts = {
                    "responses": responses.rowcount,  # type: ignore[attr-defined]
                    "versions": versions.rowcount,  # type: ignore[attr-defined]
                }
                audit.record(
                    session,
                    actor_type="system",
                    actor_id=None,
                    action="intake.purged",
                    visit_id=visit_id,
                    detail=counts,
                )
                removed += counts["responses"] + counts["versions"]


async def count_intake(targets: RetentionTargets, cutoff: datetime) -> int:
    over = select(Visit.id).where(visit_over_before(cutoff))
    async with targets.database.session() as session:
        responses = await session.scalar(
            select(func.count()).where(IntakeResponse.visit_id.in_(over))
        )
        versions = await session.scalar(
            select(func.count()).where(IntakeResponseVersion.visit_id.in_(over))
        )
    return (responses or 0) + (versions or 0)


def _room_log_due(cutoff: datetime) -> ColumnElement[bool]:
    # Only visits that ended (or were cancelled): a visit never closed may still have a live
    # room, and its log expires anyway a day after its last event (the backend's TTL).
    return and_(
        Visit.room_log_purged_at.is_(None),
        Visit.ended_at.is_not(None),
        Visit.ended_at < cutoff,
    )


async def purge_room_logs(targets: RetentionTargets, cutoff: datetime) -> int:
    """Delete the room event log of each visit that ended before `cutoff`, once per visit;
    returns how many visits' logs were deleted (a log already gone counts too)."""
    delete_room_log = targets.delete_room_log
    if delete_room_log is None:
        raise ValueError("room logs are not reachable from here")
    removed = 0
    while True:
        async with targets.database.session() as session:
            visit_ids = list(
                (
                    await session.scalars(
                        select(Visit.id)
                        .where(_room_log_due(cutoff))
                        .order_by(Visit.id)
                        .limit(BATCH_VISITS)
                    )
                ).all()
            )
        if not visit_ids:
            return removed
        # Outside any transaction: the backend may be slow, and a log deleted but not yet
        # marked is simply deleted again next time.
        for visit_id in visit_ids:
            await delete_room_log(visit_id)
        async with targets.database.session() as session:
            await session.execute(
                update(Visit)
                .where(Visit.id.in_(visit_ids))
                .values(room_log_purged_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            audit.record(
                session,
                actor_type="system",
                actor_id=None,
                action="retention.purged",
                detail={"kind": "room_logs", "rows": len(visit_ids)},
            )
        removed += len(visit_ids)


async def count_room_logs(targets: RetentionTargets, cutoff: datetime) -> int:
    async with targets.database.session() as session:
        count = await session.scalar(select(func.count()).where(_room_log_due(cutoff)))
    return count or 0
