"""Corrections keep the recognized text and a history; search follows the current text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from telehealth.storage import Database
from telehealth.transcripts import SegmentNotFound, TranscriptNotFound, store_final_segment
from telehealth.transcripts.errors import InvalidCorrection
from telehealth.transcripts.review import (
    correct_segment,
    get_transcript,
    list_transcripts,
    segment_history,
)
from telehealth.transcripts.schemas import SegmentOut
from telehealth.transcripts.search import search_terms, search_transcripts, split_snippet
from tests.telehealth.transcripts.conftest import Clinic

# (query, whether it should find "chest pain near the café, ünïcödé"): every word must match.
ADVERSARIAL_QUERIES = [
    ('"unbalanced', False),
    ('"chest', True),
    ("NEAR(", True),
    ("NEAR(chest pain)", True),
    ("NEAR(chest pain, 2)", False),
    ("chest*", True),
    ("AND OR NOT", False),
    ("-", False),
    ("^chest", True),
    ("text:chest", False),
    ("{text}: chest", False),
    ("'); DROP TABLE visits; --", False),
    ('""', False),
    ("\ue000chest\ue001", True),
    ("col:1 + 2", False),
    ("ünïcödé café", True),
    ("unicode cafe", False),  # accents count, on both backends
]


async def _say(
    database: Database, visit_id: str, words: str, start_s: float, who: str
) -> SegmentOut:
    stored = await store_final_segment(
        database,
        visit_id,
        speaker_role="patient" if who == "Jo" else "clinician",
        speaker_name=who,
        speaker_peer_id=who.lower(),
        start_s=start_s,
        end_s=start_s + 2,
        text=words,
        words=[],
        confidence=0.9,
        engine="whisper",
        model="whisper-tiny.en",
        language="en",
    )
    assert stored is not None
    return stored


async def _search(clinic: Clinic, clinician_id: str, query: str) -> list[tuple[str, int]]:
    async with clinic.database.session() as session:
        hits = await search_transcripts(session, clinician_id, query)
    return [(hit.visit_id, hit.segment_id) for hit in hits]


@pytest.mark.asyncio
async def test_corrections_keep_the_original_and_a_history(clinic: Clinic) -> None:
    db = clinic.database
    later = await _say(db, clinic.consented, "and the pain started on monday", 9.0, "Jo")
    first = await _say(db, clinic.consented, "I have had a caugh for two weeks", 3.0, "Jo")
    # After the first correction, made at the wall clock: a history in order on any day.
    edited_at = datetime.now(UTC).replace(microsecond=0)
    async with db.session() as session:
        corrected = await correct_segment(
            session, clinic.consented, first.id, clinic.ada, "I have had a  cough for two weeks"
        )
        # Saving the current text again adds no edit.
        same = await correct_segment(
            session, clinic.consented, first.id, clinic.ada, "I have had a cough for two weeks"
        )
        again = await correct_segment(
            session,
            clinic.consented,
            first.id,
            clinic.ada,
            "I have had a dry cough for two weeks",
            now=edited_at + timedelta(minutes=5),
        )
        with pytest.raises(InvalidCorrection):
            await correct_segment(session, clinic.consented, first.id, clinic.ada, " \n ")
    assert corrected.text == "I have had a cough for two weeks" and corrected.edited
    assert same.text == corrected.text
    assert again.original_text == "I have had a caugh for two weeks"

    async with db.session() as session:
        transcript = await get_transcript(session, clinic.consented, clinic.ada)
        history = await segment_history(session, clinic.consented, first.id, clinic.ada)
        raw = (
            await session.execute(
                text("SELECT text FROM transcript_segments WHERE id = :id"), {"id": first.id}
            )
        ).scalar_one()
    assert raw == "I have had a caugh for two weeks"  # the segment row is never rewritten
    assert [(s.id, s.text, s.edited) for s in transcript.segments] == [
        (first.id, "I have had a dry cough for two weeks", True),
        (later.id, "and the pain started on monday", False),
    ]
    assert transcript.consent.state == "granted" and transcript.visit.segment_count == 2
    assert history.original_text == "I have had a caugh for two weeks"
    assert [(e.text, e.editor_name) for e in history.edits] == [
        ("I have had a cough for two weeks", "Dr Ada"),
        ("I have had a dry cough for two weeks", "Dr Ada"),
    ]
    assert history.edits[1].edited_at == edited_at + timedelta(minutes=5)


@pytest.mark.asyncio
async def test_other_clinicians_see_nothing(clinic: Clinic) -> None:
    db = clinic.database
    segment = await _say(db, clinic.consented, "my ankle is swollen", 1.0, "Jo")
    await _say(db, clinic.bos_visit, "my ankle is swollen too", 1.0, "Jo")
    async with db.session() as session:
        with pytest.raises(TranscriptNotFound):
            await get_transcript(session, clinic.consented, clinic.bo)
        with pytest.raises(TranscriptNotFound):
            await correct_segment(session, clinic.consented, segment.id, clinic.bo, "hacked")
        with pytest.raises(TranscriptNotFound):
            await segment_history(session, clinic.consented, segment.id, clinic.bo)
        # A segment id from another visit is not reachable through one's own visit either.
        with pytest.raises(SegmentNotFound):
            await correct_segment(session, clinic.bos_visit, segment.id, clinic.bo, "hacked")
        ada_list = await list_transcripts(session, clinic.ada)
        bo_list = await list_transcripts(session, clinic.bo)
    assert [v.visit_id for v in ada_list] == [clinic.consented]
    assert [v.visit_id for v in bo_list] == [clinic.bos_visit]
    assert await _search(clinic, clinic.ada, "ankle") == [(clinic.consented, segment.id)]
    assert [hit[0] for hit in await _search(clinic, clinic.bo, "ankle")] == [clinic.bos_visit]


@pytest.mark.asyncio
async def test_search_follows_the_current_text(clinic: Clinic) -> None:
    db = clinic.database
    misheard = await _say(db, clinic.consented, "the rash is on my hand since friday", 1.0, "Jo")
    other = await _say(db, clinic.consented, "any fever or chills", 4.0, "Dr Ada")
    assert await _search(clinic, clinic.ada, "hand") == [(clinic.consented, misheard.id)]
    # Stemming on both backends: "fevers" finds "fever".
    assert await _search(clinic, clinic.ada, "fevers") == [(clinic.consented, other.id)]

    async with db.session() as session:
        await correct_segment(
            session, clinic.consented, misheard.id, clinic.ada, "the rash is on my hip since friday"
        )
    assert await _search(clinic, clinic.ada, "hand") == []
    assert await _search(clinic, clinic.ada, "hip") == [(clinic.consented, misheard.id)]
    assert await _search(clinic, clinic.ada, "rash friday") == [(clinic.consented, misheard.id)]
    assert await _search(clinic, clinic.ada, '"rash is on"') == [(clinic.consented, misheard.id)]
    assert await _search(clinic, clinic.ada, '"friday rash"') == []
    # A second correction replaces the first in the index.
    async with db.session() as session:
        await correct_segment(
            session, clinic.consented, misheard.id, clinic.ada, "the rash is on my knee"
        )
    assert await _search(clinic, clinic.ada, "hip") == []
    assert await _search(clinic, clinic.ada, "knee") == [(clinic.consented, misheard.id)]

    async with db.session() as session:
        [hit] = await search_transcripts(session, clinic.ada, "KNEE")
    assert hit.speaker_name == "Jo" and hit.start_s == 1.0 and hit.patient_label == "J. D."
    assert hit.scheduled_at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert [hit.snippet[a:b] for a, b in hit.marks] == ["knee"]
    assert "\ue000" not in hit.snippet and "rash is on my knee" in hit.snippet


@pytest.mark.asyncio
async def test_query_syntax_is_never_an_error(clinic: Clinic) -> None:
    segment = await _say(
        clinic.database, clinic.consented, "chest pain near the café, ünïcödé", 1.0, "Jo"
    )
    found = [(clinic.consented, segment.id)]
    for query, finds in ADVERSARIAL_QUERIES:
        assert await _search(clinic, clinic.ada, query) == (found if finds else []), query


def test_search_terms_reduce_a_query_to_quoted_words() -> None:
    assert search_terms('"unbalanced') == ["unbalanced"]
    assert search_terms('NEAR(chest, "sharp  pain") x_y') == [
        "near",
        "chest",
        "sharp pain",
        "x",
        "y",
    ]
    assert search_terms('"" - * ^') == []
    assert len(search_terms("a " * 40)) == 16
    assert split_snippet("a \ue000b\ue001 c \ue000dd\ue001") == ("a b c dd", [(2, 3), (6, 8)])
