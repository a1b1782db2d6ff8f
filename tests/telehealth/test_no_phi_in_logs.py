"""A failed transcript write is logged by type and ids, never with the text it held."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from signaling.peers import PeerInfo
from telehealth.assistant.captions import FinalSegment
from telehealth.clinicians import create_clinician
from telehealth.logs import configure_logging
from telehealth.storage import Database
from telehealth.transcripts.store import store_final_segment
from tests.conftest import make_settings
from tests.telehealth.live_server import free_port, live_server
from voice.recognition import EngineInfo

PASSWORD = "a long enough passphrase"
# What would be PHI in a real call: the patient's words, their correction, their name.
SPOKEN = "my chest has hurt since the wedding in Lisbon"
CORRECTED = "my chest has hurt since the christening in Porto"
PATIENT_NAME = "Josephine Quarterman"

REFUSE_SQLITE = [
    f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
    "BEGIN SELECT RAISE(ABORT, 'writes refused by the test'); END"
    for table in ("transcript_segments", "segment_edits")
]
REFUSE_POSTGRES = [
    "CREATE FUNCTION refuse_writes() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'writes refused by the test'; END $$ LANGUAGE plpgsql",
    *(
        f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION refuse_writes()"
        for table in ("transcript_segments", "segment_edits")
    ),
]


@pytest.fixture
def server_logging(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """The server's own logging set-up (JSON lines on stderr), undone afterwards.

    It asks for `capfd` first so the handler writes to the stderr the test captures."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO")
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("uvicorn.access").disabled = False


async def refuse_transcript_writes(database: Database) -> None:
    statements = REFUSE_SQLITE if database.dialect == "sqlite" else REFUSE_POSTGRES
    async with database.session() as session:
        for statement in statements:
            await session.execute(text(statement))


async def store(database: Database, visit_id: str, words: str) -> int | None:
    stored = await store_final_segment(
        database,
        visit_id,
        speaker_role="patient",
        speaker_name=PATIENT_NAME,
        speaker_peer_id="p-1",
        start_s=1.0,
        end_s=2.0,
        text=words,
        words=[],
        confidence=0.9,
        engine="whisper",
        model="whisper-tiny.en",
        language="en",
    )
    return stored.id if stored else None


@pytest.mark.asyncio
async def test_failed_transcript_writes_leave_no_phi_on_stderr(
    tmp_path: Path, database_url: str, server_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    settings = make_settings(tmp_path, database_url=database_url, port=port)
    base = f"http://127.0.0.1:{port}"
    async with live_server(settings) as app:
        database: Database = app.state.services.database
        async with database.session() as session:
            await create_clinician(
                session, email="ada@clinic.example", display_name="Dr Ada", password=PASSWORD
            )
        async with (
            httpx.AsyncClient(base_url=base) as ada,
            httpx.AsyncClient(base_url=base) as patient,
        ):
            login = await ada.post(
                "/api/auth/login", json={"email": "ada@clinic.example", "password": PASSWORD}
            )
            assert login.status_code == 200
            created = await ada.post(
                "/api/visits", json={"scheduled_at": datetime.now(UTC).isoformat()}
            )
            visit_id = created.json()["visit"]["id"]
            invite = created.json()["invite_url"].split("#invite=")[1]
            opened = await patient.post(
                "/api/patient/session", json={"invite": invite, "display_name": PATIENT_NAME}
            )
            assert opened.status_code == 200
            assert (
                await patient.put("/api/patient/consent", json={"transcript": True})
            ).status_code == 200
            segment_id = await store(database, visit_id, "a first line that was stored")
            assert segment_id is not None

            await refuse_transcript_writes(database)
            # A background write (a final caption, queued for the transcript writer) fails...
            app.state.services.caption_sink(
                FinalSegment(
                    visit_id=visit_id,
                    speaker=PeerInfo(peer_id="p-1", role="patient", name=PATIENT_NAME),
                    segment_id="s-1",
                    start_s=3.0,
                    end_s=4.0,
                    text=SPOKEN,
                    words=(),
                    confidence=1.0,
                    engine=EngineInfo("whisper", "whisper-tiny.en", "en", "/models/x", 16000),
                )
            )
            # ...and so does a request's (a clinician's correction).
            failed = await ada.put(
                f"/api/transcripts/{visit_id}/segments/{segment_id}", json={"text": CORRECTED}
            )
            assert failed.status_code == 500
            assert CORRECTED not in failed.text

    stderr = capfd.readouterr().err
    # Both failures were logged, with their type and the visit, so an operator can act...
    # (the writer drained its queue when the server stopped)
    assert "transcript-writer failed to store an item" in stderr
    assert "Exception in ASGI application" in stderr
    assert visit_id in stderr
    assert "Error" in stderr  # the exception's type, e.g. sqlalchemy.exc.IntegrityError
    # ...but nothing the patient said or is called.
    for phi in (SPOKEN, CORRECTED, PATIENT_NAME, "Lisbon", "Porto"):
        assert phi not in stderr
