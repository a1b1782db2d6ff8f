"""Transcripts and chat of visits that ended longer ago than the retention period go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from telehealth.storage import Database
from telehealth.storage.models import (
    AuditEvent,
    ChatMessage,
    SegmentEdit,
    TranscriptSegment,
    Visit,
    VisitStatus,
)
from telehealth.transcripts import PurgeResult, purge_expired, store_chat_message
from telehealth.transcripts.review import correct_segment
from telehealth.transcripts.search import search_transcripts
from tests.telehealth.transcripts.conftest import Clinic, new_visit
from tests.telehealth.transcripts.test_review_and_search import _say

NOW = datetime(2027, 12, 15, 12, 0, tzinfo=UTC)


async def _end(
    clinic: Clinic, visit_id: str, ended_at: datetime | None, scheduled_at: datetime | None = None
) -> None:
    async with clinic.database.session() as session:
        visit = await session.get(Visit, visit_id)
        assert visit is not None
        visit.scheduled_at = scheduled_at or visit.scheduled_at
        visit.status = VisitStatus.ended if ended_at else VisitStatus.in_call
        visit.ended_at = ended_at


@pytest.mark.asyncio
async def test_purge_deletes_only_expired_transcripts_and_audits_it(clinic: Clinic) -> None:
    db = clinic.database
    old = await _say(db, clinic.consented, "an old complaint about knees", 1.0, "Jo")
    await _say(db, clinic.consented, "and elbows", 3.0, "Jo")
    async with db.session() as session:
        await correct_segment(session, clinic.consented, old.id, clinic.ada, "old knee pain")
    await store_chat_message(
        db, clinic.consented, sender_role="patient", sender_name="Jo", text="bye"
    )
    await store_chat_message(
        db, clinic.declined, sender_role="patient", sender_name="Kim", text="recent chat"
    )
    recent = await _say(db, clinic.bos_visit, "recent knee pain", 1.0, "Jo")
    # Abandoned: never ended, scheduled long ago.
    abandoned = await new_visit(db, clinic.ada, label="A.", at=NOW - timedelta(days=400))
    await store_chat_message(db, abandoned, sender_role="patient", sender_name="A", text="hello?")

    await _end(clinic, clinic.consented, NOW - timedelta(days=31))
    await _end(clinic, clinic.declined, NOW - timedelta(days=29))
    # Still in a call, scheduled yesterday: kept.
    await _end(clinic, clinic.bos_visit, None, NOW - timedelta(days=1))
    await _end(clinic, abandoned, None)

    result = await purge_expired(db, 30, NOW)
    assert result == PurgeResult(visits=2, segments=2, chat_messages=2)
    assert await purge_expired(db, 30, NOW) == PurgeResult()

    async with db.session() as session:
        remaining = (await session.scalars(select(TranscriptSegment.id))).all()
        chats = (await session.scalars(select(ChatMessage.text))).all()
        edits = await session.scalar(select(func.count()).select_from(SegmentEdit))
        purged = (
            await session.execute(
                select(AuditEvent.visit_id, AuditEvent.detail, AuditEvent.actor_type)
                .where(AuditEvent.action == "transcript.purged")
                .order_by(AuditEvent.visit_id)
            )
        ).all()
        assert await session.get(Visit, clinic.consented) is not None  # the visit stays
        assert await search_transcripts(session, clinic.ada, "knee") == []
        bo_hits = await search_transcripts(session, clinic.bo, "knee")
        if db.dialect == "sqlite":
            indexed = await session.scalar(text("SELECT count(*) FROM transcript_search"))
            assert indexed == 1  # the full-text index lost the purged rows too
    assert list(remaining) == [recent.id] and list(chats) == ["recent chat"] and edits == 0
    assert [hit.segment_id for hit in bo_hits] == [recent.id]
    assert sorted(
        (visit_id, detail["segments"], detail["chat_messages"], actor)
        for visit_id, detail, actor in purged
    ) == sorted([(clinic.consented, 2, 1, "system"), (abandoned, 0, 1, "system")])


@pytest.mark.asyncio
async def test_purge_refuses_naive_times_and_silly_periods(database: Database) -> None:
    with pytest.raises(ValueError, match="timezone"):
        await purge_expired(database, 30, datetime(2027, 1, 1))
    with pytest.raises(ValueError, match="at least 1"):
        await purge_expired(database, 0, NOW)
