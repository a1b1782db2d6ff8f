"""The clinician's side: their transcripts, one transcript, corrections and their history.

Every function takes the clinician's id and treats another clinician's visit exactly like a
visit that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.storage.models import (
    ChatMessage,
    Clinician,
    SegmentEdit,
    TranscriptConsent,
    TranscriptSegment,
    Visit,
    utcnow,
)
from telehealth.transcripts.consent import consent_state
from telehealth.transcripts.errors import InvalidCorrection, SegmentNotFound, TranscriptNotFound
from telehealth.transcripts.schemas import (
    MAX_CORRECTION_CHARS,
    ConsentAnswer,
    EditOut,
    SegmentHistory,
    SegmentOut,
    TranscriptOut,
    VisitSummary,
)
from telehealth.transcripts.store import clean_text
from telehealth.transcripts.views import chat_out, segment_out

MAX_LISTED_VISITS = 500


def _consent_answer(transcript: bool | None) -> ConsentAnswer:
    if transcript is None:
        return "not_asked"
    return "granted" if transcript else "declined"


def _summary(visit: Visit, consent: bool | None, segments: int, chats: int) -> VisitSummary:
    return VisitSummary(
        visit_id=visit.id,
        scheduled_at=visit.scheduled_at,
        started_at=visit.started_at,
        ended_at=visit.ended_at,
        status=visit.status,
        patient_label=visit.patient_label,
        consent=_consent_answer(consent),
        segment_count=segments,
        chat_count=chats,
    )


async def own_visit(session: AsyncSession, visit_id: str, clinician_id: str) -> Visit:
    visit = await session.get(Visit, visit_id)
    if visit is None or visit.clinician_id != clinician_id:
        raise TranscriptNotFound(visit_id)
    return visit


async def list_transcripts(session: AsyncSession, clinician_id: str) -> list[VisitSummary]:
    """The clinician's visits that have stored segments or chat, newest first."""
    segments = (
        select(TranscriptSegment.visit_id, func.count().label("n"))
        .group_by(TranscriptSegment.visit_id)
        .subquery()
    )
    chats = (
        select(ChatMessage.visit_id, func.count().label("n"))
        .group_by(ChatMessage.visit_id)
        .subquery()
    )
    result = await session.execute(
        select(
            Visit,
            TranscriptConsent.transcript,
            func.coalesce(segments.c.n, 0),
            func.coalesce(chats.c.n, 0),
        )
        .outerjoin(segments, segments.c.visit_id == Visit.id)
        .outerjoin(chats, chats.c.visit_id == Visit.id)
        .outerjoin(TranscriptConsent, TranscriptConsent.visit_id == Visit.id)
        .where(Visit.clinician_id == clinician_id)
        .where(or_(segments.c.n > 0, chats.c.n > 0))
        .order_by(Visit.scheduled_at.desc(), Visit.id)
        .limit(MAX_LISTED_VISITS)
    )
    return [
        _summary(visit, consent, int(n_segments), int(n_chats))
        for visit, consent, n_segments, n_chats in result
    ]


async def latest_edits(session: AsyncSession, segment_ids: Sequence[int]) -> dict[int, SegmentEdit]:
    """The newest correction of each segment that has one."""
    if not segment_ids:
        return {}
    newest = (
        select(func.max(SegmentEdit.id))
        .where(SegmentEdit.segment_id.in_(segment_ids))
        .group_by(SegmentEdit.segment_id)
    )
    result = await session.execute(select(SegmentEdit).where(SegmentEdit.id.in_(newest)))
    return {edit.segment_id: edit for edit in result.scalars()}


async def current_segments(session: AsyncSession, visit_id: str) -> list[SegmentOut]:
    """The visit's segments in time order, each with its current text."""
    result = await session.execute(
        select(TranscriptSegment)
        .where(TranscriptSegment.visit_id == visit_id)
        .order_by(TranscriptSegment.start_s, TranscriptSegment.id)
    )
    rows = list(result.scalars())
    edits = await latest_edits(session, [row.id for row in rows])
    return [segment_out(row, edits.get(row.id)) for row in rows]


async def get_transcript(session: AsyncSession, visit_id: str, clinician_id: str) -> TranscriptOut:
    """One visit's transcript: segments with current text and words, consent, chat."""
    visit = await own_visit(session, visit_id, clinician_id)
    segments = await current_segments(session, visit_id)
    chat_rows = await session.execute(
        select(ChatMessage)
        .where(ChatMessage.visit_id == visit_id)
        .order_by(ChatMessage.sent_at, ChatMessage.id)
    )
    chat = [chat_out(message) for message in chat_rows.scalars()]
    consent = await consent_state(session, visit_id)
    return TranscriptOut(
        visit=_summary(
            visit,
            None if consent.state == "not_asked" else consent.transcript,
            len(segments),
            len(chat),
        ),
        consent=consent,
        segments=segments,
        chat=chat,
    )


async def _own_segment(
    session: AsyncSession, visit_id: str, segment_id: int, clinician_id: str
) -> TranscriptSegment:
    await own_visit(session, visit_id, clinician_id)
    segment = await session.get(TranscriptSegment, segment_id)
    if segment is None or segment.visit_id != visit_id:
        raise SegmentNotFound(f"segment {segment_id} is not part of this transcript")
    return segment


async def correct_segment(
    session: AsyncSession,
    visit_id: str,
    segment_id: int,
    clinician_id: str,
    text: str,
    *,
    now: datetime | None = None,
) -> SegmentOut:
    """Store a correction as a new edit; the recognized text stays as it was.

    Saving the text that is already current adds nothing.
    """
    segment = await _own_segment(session, visit_id, segment_id, clinician_id)
    corrected = " ".join(clean_text(text, MAX_CORRECTION_CHARS + 1).split())
    if not corrected:
        raise InvalidCorrection("the corrected text is empty")
    if len(corrected) > MAX_CORRECTION_CHARS:
        raise InvalidCorrection(f"the corrected text is longer than {MAX_CORRECTION_CHARS}")
    latest = (await latest_edits(session, [segment.id])).get(segment.id)
    current = latest.edited_text if latest else segment.text
    if corrected == current:
        return segment_out(segment, latest)
    edit = SegmentEdit(
        segment_id=segment.id,
        edited_text=corrected,
        editor_clinician_id=clinician_id,
        edited_at=now or utcnow(),
    )
    session.add(edit)
    audit.record(
        session,
        actor_type="clinician",
        actor_id=clinician_id,
        action="transcript.segment_corrected",
        visit_id=visit_id,
        detail={"segment_id": segment.id},
    )
    await session.flush()
    return segment_out(segment, edit)


async def segment_history(
    session: AsyncSession, visit_id: str, segment_id: int, clinician_id: str
) -> SegmentHistory:
    """The recognized text and every correction, oldest first."""
    segment = await _own_segment(session, visit_id, segment_id, clinician_id)
    result = await session.execute(
        select(SegmentEdit, Clinician.display_name)
        .join(Clinician, Clinician.id == SegmentEdit.editor_clinician_id)
        .where(SegmentEdit.segment_id == segment.id)
        .order_by(SegmentEdit.id)
    )
    edits = [
        EditOut(
            id=edit.id,
            segment_id=edit.segment_id,
            text=edit.edited_text,
            editor_id=edit.editor_clinician_id,
            editor_name=name,
            edited_at=edit.edited_at,
        )
        for edit, name in result
    ]
    return SegmentHistory(
        segment_id=segment.id,
        visit_id=visit_id,
        original_text=segment.text,
        recognized_at=segment.created_at,
        engine=segment.engine,
        model=segment.model,
        edits=edits,
    )
