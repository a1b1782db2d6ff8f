"""The embedded database at rest: nothing of a patient readable in its files, search works."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from telehealth.clinicians import create_clinician
from telehealth.deps import current_time
from telehealth.storage import Database, upgrade_database
from telehealth.storage.sqlcipher import database_files
from telehealth.transcripts import store_chat_message, store_final_segment
from tests.conftest import make_settings
from tests.telehealth.api_client import client_for, running_app
from tests.telehealth.intake_app.sample import FORM_ANSWERS

PASSWORD = "a long enough passphrase"
PATIENT_NAME = "Jo Quillfeather"
VISIT_LABEL = "Zebulon Marchetti"
REASON = "tightness behind my sternum since Monday"
CONDITIONS = "sarcoidosis"
CHAT = "could you repeat the dosage please"
CAPTION = "take the amoxicillin three times daily"
SECRETS = (
    PATIENT_NAME,
    "Quillfeather",
    VISIT_LABEL,
    "Marchetti",
    REASON,
    "sternum",
    CONDITIONS,
    CHAT,
    "dosage",
    CAPTION,
    "amoxicillin",
)


def _file_bytes(database: Path) -> Iterator[tuple[str, bytes]]:
    for path in database_files(database):
        if path.exists():
            yield path.name, path.read_bytes()


def _found(database: Path) -> list[tuple[str, str]]:
    """(file, text) for every secret a byte search finds, as UTF-8 and as UTF-16."""
    hits = []
    for name, data in _file_bytes(database):
        for secret in SECRETS:
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                if secret.encode(encoding) in data:
                    hits.append((name, secret))
    return hits


@pytest.mark.asyncio
async def test_a_visits_phi_is_nowhere_in_the_database_files_and_search_works(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    database_file = tmp_path / "var" / "test.db"
    async with running_app(settings) as app:
        now = datetime.now(UTC)
        app.dependency_overrides[current_time] = lambda: now
        database: Database = app.state.services.database
        assert database.encrypted
        async with database.session() as session:
            await create_clinician(
                session, email="ada@clinic.example", display_name="Dr Ada", password=PASSWORD
            )
        async with client_for(app) as clinician, client_for(app) as patient:
            login = await clinician.post(
                "/api/auth/login", json={"email": "ada@clinic.example", "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            created = await clinician.post(
                "/api/visits",
                json={"scheduled_at": now.isoformat(), "patient_label": VISIT_LABEL},
            )
            assert created.status_code == 201, created.text
            visit_id = created.json()["visit"]["id"]
            invite = created.json()["invite_url"].split("#invite=")[1]
            opened = await patient.post(
                "/api/patient/session", json={"invite": invite, "display_name": PATIENT_NAME}
            )
            assert opened.status_code == 200, opened.text
            consent = await patient.put("/api/patient/consent", json={"transcript": True})
            assert consent.status_code == 200, consent.text
            answers = {**FORM_ANSWERS, "reason": REASON, "conditions": CONDITIONS}
            intake = await patient.post("/api/patient/intake/form", json={"answers": answers})
            assert intake.status_code == 200, intake.text
            # What the call's chat recorder and caption sink store for the room.
            chat = await store_chat_message(
                database, visit_id, sender_role="patient", sender_name=PATIENT_NAME, text=CHAT
            )
            caption = await store_final_segment(
                database,
                visit_id,
                speaker_role="clinician",
                speaker_name="Dr Ada",
                speaker_peer_id="p1",
                start_s=1.0,
                end_s=3.0,
                text=CAPTION,
                words=[],
                confidence=0.9,
                engine="whisper",
                model="tiny.en",
                language="en",
            )
            assert chat is not None and caption is not None

            # While the server runs, the WAL and shared-memory files hold the newest pages.
            assert (tmp_path / "var" / "test.db-wal").exists()
            assert _found(database_file) == []

            search = await clinician.get("/api/transcripts/search", params={"q": "amoxicillin"})
            assert search.status_code == 200, search.text
            hits = search.json()["hits"]
            assert [(hit["visit_id"], hit["segment_id"]) for hit in hits] == [
                (visit_id, caption.id)
            ]
            shown = await clinician.get(f"/api/visits/{visit_id}/intake")
            assert REASON in shown.text
    # After shutdown (WAL checkpointed into the main file) too.
    assert _found(database_file) == []


@pytest.mark.asyncio
async def test_the_byte_search_finds_the_same_text_in_a_plaintext_database(
    tmp_path: Path,
) -> None:
    """The check above can fail: on plain SQLite the chat line is right there."""
    path = tmp_path / "plain.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade_database(database)
        from telehealth.storage.models import Clinician, Visit

        async with database.session() as session:
            ada = Clinician(email="ada@clinic.example", display_name="Dr Ada", password_hash="-")
            session.add(ada)
            await session.flush()
            visit = Visit(
                clinician_id=ada.id, patient_label=VISIT_LABEL, scheduled_at=datetime.now(UTC)
            )
            session.add(visit)
            await session.flush()
            visit_id = visit.id
        await store_chat_message(
            database, visit_id, sender_role="patient", sender_name=PATIENT_NAME, text=CHAT
        )
    finally:
        await database.close()
    found = {secret for _, secret in _found(path)}
    assert {CHAT, PATIENT_NAME, VISIT_LABEL} <= found
