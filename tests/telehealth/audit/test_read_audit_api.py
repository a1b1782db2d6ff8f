"""Every read of PHI over HTTP leaves an audit event with actor, client address and outcome,
the refused ones too (a clinician asking for another clinician's visit)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from telehealth.clinicians import create_clinician
from telehealth.deps import current_time
from telehealth.storage import Database
from telehealth.storage.models import AuditEvent
from telehealth.transcripts import store_final_segment
from tests.conftest import make_settings
from tests.telehealth.api_client import running_app
from tests.telehealth.intake_app.sample import FORM_ANSWERS

PASSWORD = "a long enough passphrase"
ADA_ADDRESS, BO_ADDRESS, PATIENT_ADDRESS = "203.0.113.10", "203.0.113.20", "198.51.100.30"


@dataclass
class Clinic:
    app: FastAPI
    database: Database
    stack: AsyncExitStack
    ada_id: str
    bo_id: str
    now: datetime

    async def client(self, address: str, *, proxy_for: str | None = None) -> httpx.AsyncClient:
        # With `proxy_for`, the app sits behind uvicorn's proxy handling (as `serve` sets it up
        # for TELEHEALTH_TRUSTED_PROXIES) and trusts that one address.
        app: Any = self.app
        if proxy_for is not None:
            app = ProxyHeadersMiddleware(self.app, trusted_hosts=[proxy_for])
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")
        return await self.stack.enter_async_context(client)

    async def staff(self, email: str, address: str) -> httpx.AsyncClient:
        client = await self.client(address)
        response = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return client

    async def visit_with_patient(self, ada: httpx.AsyncClient) -> tuple[str, httpx.AsyncClient]:
        created = await ada.post(
            "/api/visits", json={"scheduled_at": self.now.isoformat(), "patient_label": "J. D."}
        )
        assert created.status_code == 201, created.text
        token = created.json()["invite_url"].split("#invite=")[1]
        patient = await self.client(PATIENT_ADDRESS)
        opened = await patient.post(
            "/api/patient/session", json={"invite": token, "display_name": "Jo"}
        )
        assert opened.status_code == 200, opened.text
        return created.json()["visit"]["id"], patient


@pytest_asyncio.fixture
async def clinic(tmp_path: Path, database_url: str) -> AsyncIterator[Clinic]:
    settings = make_settings(tmp_path, database_url=database_url)
    async with running_app(settings) as app, AsyncExitStack() as stack:
        database: Database = app.state.services.database
        async with database.session() as session:
            ada = await create_clinician(
                session, email="ada@clinic.example", display_name="Dr Ada", password=PASSWORD
            )
            bo = await create_clinician(
                session, email="bo@clinic.example", display_name="Dr Bo", password=PASSWORD
            )
        now = datetime.now(UTC)
        app.dependency_overrides[current_time] = lambda: now
        yield Clinic(app, database, stack, ada.id, bo.id, now)


@pytest_asyncio.fixture
async def with_transcript(clinic: Clinic) -> tuple[str, int, httpx.AsyncClient, httpx.AsyncClient]:
    """Ada's visit with one stored segment; Ada's and Bo's clients."""
    ada = await clinic.staff("ada@clinic.example", ADA_ADDRESS)
    bo = await clinic.staff("bo@clinic.example", BO_ADDRESS)
    visit_id, patient = await clinic.visit_with_patient(ada)
    assert (await patient.put("/api/patient/consent", json={"transcript": True})).status_code == 200
    stored = await store_final_segment(
        clinic.database,
        visit_id,
        speaker_role="patient",
        speaker_name="Jo",
        speaker_peer_id="p",
        start_s=1.0,
        end_s=2.0,
        text="my chest feels tight",
        words=[],
        confidence=0.9,
        engine="vosk",
        model="m",
        language="en",
    )
    assert stored is not None
    return visit_id, stored.id, ada, bo


async def _events(database: Database, action: str) -> list[dict[str, Any]]:
    async with database.session() as session:
        rows = (
            await session.execute(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        ).scalars()
        return [
            {
                "actor": (row.actor_type, row.actor_id),
                "address": row.client_address,
                "outcome": row.outcome,
                "visit_id": row.visit_id,
                "detail": row.detail,
            }
            for row in rows
        ]


@pytest.mark.asyncio
async def test_viewing_a_transcript_is_audited_and_so_is_a_refusal(
    clinic: Clinic, with_transcript: tuple[str, int, httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    visit_id, _, ada, bo = with_transcript
    assert (await ada.get(f"/api/transcripts/{visit_id}")).status_code == 200
    refused = await bo.get(f"/api/transcripts/{visit_id}")
    assert (refused.status_code, refused.json()) == (404, {"detail": "no such visit"})
    assert (await bo.get(f"/api/transcripts/{'x' * 300}")).status_code == 404
    anonymous = await clinic.client("192.0.2.99")
    assert (await anonymous.get(f"/api/transcripts/{visit_id}")).status_code == 401
    assert await _events(clinic.database, "transcript.viewed") == [
        {
            "actor": ("clinician", clinic.ada_id),
            "address": ADA_ADDRESS,
            "outcome": "success",
            "visit_id": visit_id,
            "detail": {},
        },
        {
            "actor": ("clinician", clinic.bo_id),
            "address": BO_ADDRESS,
            "outcome": "not_found",
            "visit_id": visit_id,
            "detail": {},
        },
        # What was typed in the path is not kept, only that it was no visit id.
        {
            "actor": ("clinician", clinic.bo_id),
            "address": BO_ADDRESS,
            "outcome": "not_found",
            "visit_id": None,
            "detail": {"visit_id": "malformed"},
        },
    ]


@pytest.mark.asyncio
async def test_listing_and_searching_are_audited_without_the_words(
    clinic: Clinic, with_transcript: tuple[str, int, httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    _, _, ada, bo = with_transcript
    assert (
        len((await ada.get("/api/transcripts/search", params={"q": "chest"})).json()["hits"]) == 1
    )
    assert (await bo.get("/api/transcripts/search", params={"q": "chest"})).json()["hits"] == []
    assert len((await ada.get("/api/transcripts")).json()["transcripts"]) == 1
    searched = await _events(clinic.database, "transcript.searched")
    assert [(e["actor"], e["address"], e["outcome"], e["detail"]) for e in searched] == [
        (("clinician", clinic.ada_id), ADA_ADDRESS, "success", {"hits": 1}),
        (("clinician", clinic.bo_id), BO_ADDRESS, "success", {"hits": 0}),
    ]
    listed = await _events(clinic.database, "transcript.listed")
    assert [(e["actor"], e["address"], e["detail"]) for e in listed] == [
        (("clinician", clinic.ada_id), ADA_ADDRESS, {"visits": 1})
    ]
    async with clinic.database.session() as session:
        details = (await session.execute(select(AuditEvent.detail))).scalars().all()
    assert "chest" not in repr(details)


@pytest.mark.asyncio
async def test_segment_history_is_audited_and_so_is_a_refusal(
    clinic: Clinic, with_transcript: tuple[str, int, httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    visit_id, segment_id, ada, bo = with_transcript
    url = f"/api/transcripts/{visit_id}/segments/{segment_id}/history"
    assert (await ada.get(url)).status_code == 200
    assert (await bo.get(url)).status_code == 404
    missing = f"/api/transcripts/{visit_id}/segments/{segment_id + 50}/history"
    assert (await ada.get(missing)).json() == {"detail": "no such segment in this transcript"}
    events = await _events(clinic.database, "transcript.history_viewed")
    assert [(e["actor"][1], e["address"], e["outcome"], e["detail"]) for e in events] == [
        (clinic.ada_id, ADA_ADDRESS, "success", {"segment_id": segment_id}),
        (clinic.bo_id, BO_ADDRESS, "not_found", {"segment_id": segment_id}),
        (clinic.ada_id, ADA_ADDRESS, "not_found", {"segment_id": segment_id + 50}),
    ]


@pytest.mark.asyncio
async def test_exports_are_audited_and_so_is_a_refusal(
    clinic: Clinic, with_transcript: tuple[str, int, httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    visit_id, _, ada, bo = with_transcript
    export = f"/api/transcripts/{visit_id}/export"
    for format_ in ("vtt", "srt", "txt", "fhir"):
        assert (await ada.get(export, params={"format": format_})).status_code == 200
    assert (await bo.get(export, params={"format": "srt"})).status_code == 404
    events = await _events(clinic.database, "transcript.exported")
    assert [(e["actor"][1], e["address"], e["outcome"], e["detail"]) for e in events] == [
        *[(clinic.ada_id, ADA_ADDRESS, "success", {"format": f}) for f in ("vtt", "srt", "txt")],
        (clinic.ada_id, ADA_ADDRESS, "success", {"format": "fhir"}),
        (clinic.bo_id, BO_ADDRESS, "not_found", {"format": "srt"}),
    ]


@pytest.mark.asyncio
async def test_intake_reads_are_audited_and_so_is_a_refusal(clinic: Clinic) -> None:
    ada = await clinic.staff("ada@clinic.example", ADA_ADDRESS)
    bo = await clinic.staff("bo@clinic.example", BO_ADDRESS)
    visit_id, patient = await clinic.visit_with_patient(ada)
    # Before any intake: nothing to read, and that is on the trail too.
    assert (await ada.get(f"/api/visits/{visit_id}/intake")).status_code == 404
    submitted = await patient.post("/api/patient/intake/form", json={"answers": FORM_ANSWERS})
    assert submitted.status_code == 200, submitted.text
    assert (await ada.get(f"/api/visits/{visit_id}/intake")).status_code == 200
    assert (await ada.get(f"/api/visits/{visit_id}/intake/summary")).status_code == 200
    refused = await bo.get(f"/api/visits/{visit_id}/intake/summary")
    assert refused.status_code == 404
    events = await _events(clinic.database, "intake.viewed")
    assert [(e["actor"][1], e["address"], e["outcome"], e["detail"]) for e in events] == [
        (clinic.ada_id, ADA_ADDRESS, "not_found", {"view": "fhir"}),
        (clinic.ada_id, ADA_ADDRESS, "success", {"view": "fhir"}),
        (clinic.ada_id, ADA_ADDRESS, "success", {"view": "summary"}),
        (clinic.bo_id, BO_ADDRESS, "not_found", {"view": "summary"}),
    ]
    assert {e["visit_id"] for e in events} == {visit_id}


@pytest.mark.asyncio
async def test_a_patients_changes_carry_a_hash_of_their_session_never_the_token(
    clinic: Clinic,
) -> None:
    ada = await clinic.staff("ada@clinic.example", ADA_ADDRESS)
    visit_id, patient = await clinic.visit_with_patient(ada)
    assert (await patient.put("/api/patient/consent", json={"transcript": True})).status_code == 200
    token = patient.cookies["th_patient"]
    session_hash = hashlib.sha256(token.encode()).hexdigest()
    expected = hashlib.sha256(f"telehealth-audit-patient:{session_hash}".encode()).hexdigest()
    consent = await _events(clinic.database, "consent.transcript")
    assert [(e["actor"], e["address"], e["visit_id"]) for e in consent] == [
        (("patient", expected), PATIENT_ADDRESS, visit_id)
    ]
    async with clinic.database.session() as session:
        rows = (await session.execute(select(AuditEvent))).scalars().all()
    stored = repr([(row.actor_id, row.detail, row.note) for row in rows])
    assert token not in stored and session_hash not in stored


@pytest.mark.asyncio
async def test_behind_a_trusted_proxy_the_forwarded_address_is_recorded(
    clinic: Clinic, with_transcript: tuple[str, int, httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    visit_id = with_transcript[0]
    proxy = "10.0.0.2"
    for peer, forwarded in ((proxy, "198.51.100.77"), ("10.0.0.3", "198.51.100.78")):
        ada = await clinic.client(peer, proxy_for=proxy)
        login = await ada.post(
            "/api/auth/login",
            json={"email": "ada@clinic.example", "password": PASSWORD},
            headers={"X-Forwarded-For": forwarded},
        )
        assert login.status_code == 200
        read = await ada.get(f"/api/transcripts/{visit_id}", headers={"X-Forwarded-For": forwarded})
        assert read.status_code == 200
    events = await _events(clinic.database, "transcript.viewed")
    # The proxy's word is taken; another peer's X-Forwarded-For is not.
    assert [e["address"] for e in events] == ["198.51.100.77", "10.0.0.3"]


@pytest.mark.asyncio
async def test_a_stale_patient_cookie_is_not_taken_for_the_actor(clinic: Clinic) -> None:
    ada = await clinic.staff("ada@clinic.example", ADA_ADDRESS)
    first_visit, patient = await clinic.visit_with_patient(ada)
    stale = hashlib.sha256(patient.cookies["th_patient"].encode()).hexdigest()
    stale_actor = hashlib.sha256(f"telehealth-audit-patient:{stale}".encode()).hexdigest()
    created = await ada.post("/api/visits", json={"scheduled_at": clinic.now.isoformat()})
    token = created.json()["invite_url"].split("#invite=")[1]
    # The same browser opens another link while still holding the first visit's cookie.
    opened = await patient.post(
        "/api/patient/session", json={"invite": token, "display_name": "Jo"}
    )
    assert opened.status_code == 200
    second_visit = created.json()["visit"]["id"]
    events = await _events(clinic.database, "invite.opened")
    assert [e["visit_id"] for e in events] == [first_visit, second_visit]
    assert events[1]["actor"][1] != stale_actor
    assert events[1]["address"] == PATIENT_ADDRESS
