"""The patient's consent to storing captions as a transcript.

No answer means no consent: captions still show live, nothing is stored. The latest answer
wins; every answer is also an audit event, which is where the history lives.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.storage.models import AuditEvent, TranscriptConsent, Visit, utcnow
from telehealth.transcripts.errors import TranscriptNotFound
from telehealth.transcripts.schemas import ConsentAnswer, ConsentChange, ConsentOut

CONSENT_ACTION = "consent.transcript"
MAX_HISTORY = 100


def _answer(row: TranscriptConsent | None) -> ConsentAnswer:
    if row is None:
        return "not_asked"
    return "granted" if row.transcript else "declined"


async def record_consent(
    session: AsyncSession,
    visit_id: str,
    *,
    transcript: bool,
    session_hash: str,
    now: datetime | None = None,
) -> ConsentOut:
    """Store the patient's answer for the visit (replacing an earlier one) and audit it."""
    if await session.get(Visit, visit_id) is None:
        raise TranscriptNotFound(visit_id)
    now = now or utcnow()
    row = await session.get(TranscriptConsent, visit_id, with_for_update=True)
    if row is None:
        row = TranscriptConsent(visit_id=visit_id)
        session.add(row)
    row.transcript = transcript
    row.decided_at = now
    row.decided_by_session = session_hash
    event = audit.record(
        session,
        actor_type="patient",
        actor_id=None,
        action=CONSENT_ACTION,
        visit_id=visit_id,
        detail={"transcript": transcript},
    )
    event.at = now
    await session.flush()
    return await consent_state(session, visit_id)


async def consent_state(session: AsyncSession, visit_id: str) -> ConsentOut:
    """The current answer and every earlier one, oldest first."""
    row = await session.get(TranscriptConsent, visit_id)
    events = await session.execute(
        select(AuditEvent)
        .where(AuditEvent.visit_id == visit_id, AuditEvent.action == CONSENT_ACTION)
        .order_by(AuditEvent.id.desc())
        .limit(MAX_HISTORY)
    )
    history = [
        ConsentChange(transcript=bool(event.detail.get("transcript")), at=event.at)
        for event in reversed(list(events.scalars()))
    ]
    return ConsentOut(
        visit_id=visit_id,
        transcript=bool(row and row.transcript),
        state=_answer(row),
        decided_at=row.decided_at if row else None,
        history=history,
    )


async def has_transcript_consent(session: AsyncSession, visit_id: str) -> bool:
    """True when the patient's latest answer allows storing captions.

    On PostgreSQL the consent row is locked until the caller's transaction ends, so a
    segment is never stored after a withdrawal that committed first.
    """
    result = await session.execute(
        select(TranscriptConsent.transcript)
        .where(TranscriptConsent.visit_id == visit_id)
        .with_for_update()
    )
    return bool(result.scalar_one_or_none())
