"""Retention: transcripts and chat of visits that ended long enough ago are deleted.

The visit row, its consent answer and the audit trail stay; a `transcript.purged` audit
event per visit records how much went. A visit that never ended (the call was abandoned
and nobody closed it) counts from its scheduled time, so nothing is kept for ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select

from telehealth import audit
from telehealth.storage import Database
from telehealth.storage.models import ChatMessage, SegmentEdit, TranscriptSegment, Visit

BATCH_VISITS = 200


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """How much `purge_expired` deleted."""

    visits: int = 0
    segments: int = 0
    chat_messages: int = 0


def visit_over_before(cutoff: datetime) -> ColumnElement[bool]:
    """Visits that ended before `cutoff`, or never ended and were scheduled before it."""
    return or_(
        Visit.ended_at < cutoff,
        and_(Visit.ended_at.is_(None), Visit.scheduled_at < cutoff),
    )


def _has_content() -> ColumnElement[bool]:
    return or_(
        select(TranscriptSegment.id).where(TranscriptSegment.visit_id == Visit.id).exists(),
        select(ChatMessage.id).where(ChatMessage.visit_id == Visit.id).exists(),
    )


async def _purge_batch(database: Database, cutoff: datetime) -> PurgeResult:
    expired, has_content = visit_over_before(cutoff), _has_content()
    async with database.session() as session:
        visit_ids = list(
            (
                await session.execute(
                    select(Visit.id)
                    .where(expired, has_content)
                    .order_by(Visit.id)
                    .limit(BATCH_VISITS)
                )
            ).scalars()
        )
        if not visit_ids:
            return PurgeResult()
        total_segments = total_chat = 0
        for visit_id in visit_ids:
            segment_ids = select(TranscriptSegment.id).where(TranscriptSegment.visit_id == visit_id)
            segments = await session.scalar(
                select(func.count()).select_from(segment_ids.subquery())
            )
            chats = await session.scalar(
                select(func.count()).where(ChatMessage.visit_id == visit_id)
            )
            # Corrections first: the database would cascade, but not every SQLite
            # connection has foreign keys switched on.
            await session.execute(
                delete(SegmentEdit).where(SegmentEdit.segment_id.in_(segment_ids))
            )
            await session.execute(
                delete(TranscriptSegment).where(TranscriptSegment.visit_id == visit_id)
            )
            await session.execute(delete(ChatMessage).where(ChatMessage.visit_id == visit_id))
            audit.record(
                session,
                actor_type="system",
                actor_id=None,
                action="transcript.purged",
                visit_id=visit_id,
                detail={"segments": segments or 0, "chat_messages": chats or 0},
            )
            total_segments += segments or 0
            total_chat += chats or 0
    return PurgeResult(len(visit_ids), total_segments, total_chat)


async def purge_expired(database: Database, retention_days: int, now: datetime) -> PurgeResult:
    """Delete segments, corrections and chat of visits that ended over `retention_days` ago.

    Works in batches, each its own transaction, so a large backlog does not hold one long
    write lock.
    """
    if now.tzinfo is None:
        raise ValueError("now needs a timezone")
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    return await purge_ended_before(database, now - timedelta(days=retention_days))


async def purge_ended_before(database: Database, cutoff: datetime) -> PurgeResult:
    """Delete segments, corrections and chat of visits that ended before `cutoff`."""
    visits = segments = chat = 0
    while True:
        batch = await _purge_batch(database, cutoff)
        if batch.visits == 0:
            return PurgeResult(visits, segments, chat)
        visits += batch.visits
        segments += batch.segments
        chat += batch.chat_messages


async def count_ended_before(database: Database, cutoff: datetime) -> int:
    """How many segments and chat messages `purge_ended_before(cutoff)` would delete."""
    expired_visits = select(Visit.id).where(visit_over_before(cutoff))
    async with database.session() as session:
        segments = await session.scalar(
            select(func.count()).where(TranscriptSegment.visit_id.in_(expired_visits))
        )
        chats = await session.scalar(
            select(func.count()).where(ChatMessage.visit_id.in_(expired_visits))
        )
    return (segments or 0) + (chats or 0)
