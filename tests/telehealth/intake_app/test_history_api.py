"""Intake history: every submission (form or voice) is a new version, none is overwritten,
and a flag raised by any version stays in view; only the visit's clinician reads it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from telehealth.intake_service import open_intake, submit_form
from telehealth.storage.models import AuditEvent, IntakeResponseVersion

from .conftest import BO, Clinic
from .sample import FORM_ANSWERS, VOICE_REPLIES, answers_by_link_id

CHEST_PAIN = {**FORM_ANSWERS, "symptoms": ["chest pain", "shortness of breath"]}
ROUTINE = {**FORM_ANSWERS, "reason": "just a routine check", "symptoms": ["cough"]}
CHEST_FLAG = "chest-pain-with-breathlessness"


async def _submit_form(patient: httpx.AsyncClient, answers: dict[str, Any]) -> dict[str, Any]:
    response = await patient.post("/api/patient/intake/form", json={"answers": answers})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _answer_by_voice(patient: httpx.AsyncClient, *, again: bool) -> dict[str, Any]:
    start = await patient.post("/api/patient/intake/dialogue/start", json={"again": again})
    assert start.status_code == 200, start.text
    turn: dict[str, Any] = start.json()
    assert turn["stage"] == "question" and turn["linkId"] == "reason"
    for text in VOICE_REPLIES:
        reply = await patient.post("/api/patient/intake/dialogue/reply", json={"text": text})
        assert reply.status_code == 200, reply.text
        turn = reply.json()
    assert turn["done"] is True
    return turn


def _reason(response: dict[str, Any]) -> str:
    value: str = answers_by_link_id(response)["reason"]["answer"][0]["valueString"]
    return value


@pytest.mark.asyncio
async def test_every_version_is_kept_and_the_first_flag_stays_visible(clinic: Clinic) -> None:
    ada = await clinic.clinician()
    visit_id, patient = await clinic.visit_with_patient(ada)
    assert (await ada.get(f"/api/visits/{visit_id}/intake/history")).json() == {
        "visit_id": visit_id,
        "urgent": False,
        "flags": [],
        "versions": [],
    }

    first = await _submit_form(patient, CHEST_PAIN)
    assert first["flags"] == [CHEST_FLAG]
    assert first["response"]["meta"]["versionId"] == "1"

    # A finished intake is not restarted by a plain start (a reconnect); "again" is asked.
    plain = (await patient.post("/api/patient/intake/dialogue/start")).json()
    assert plain["done"] is True
    await _answer_by_voice(patient, again=True)
    # While a second dialogue was under way, version 1 stayed the clinician's view; now 2.
    third = await _submit_form(patient, ROUTINE)
    assert third["response"]["meta"]["versionId"] == "3"
    assert third["flags"] == [CHEST_FLAG]  # the routine resubmission does not withdraw it

    latest = (await ada.get(f"/api/visits/{visit_id}/intake")).json()
    assert latest["meta"]["versionId"] == "3"
    assert _reason(latest) == "just a routine check"
    summary = (await ada.get(f"/api/visits/{visit_id}/intake/summary")).json()
    assert summary["urgent"] is True and [f["id"] for f in summary["flags"]] == [CHEST_FLAG]
    assert summary["source"] == "form"

    history = (await ada.get(f"/api/visits/{visit_id}/intake/history")).json()
    assert history["visit_id"] == visit_id
    assert history["urgent"] is True and [f["id"] for f in history["flags"]] == [CHEST_FLAG]
    versions = history["versions"]
    assert [(v["version_id"], v["source"]) for v in versions] == [
        ("3", "form"),
        ("2", "voice"),
        ("1", "form"),
    ]
    assert [v["response"]["meta"]["versionId"] for v in versions] == ["3", "2", "1"]
    # Each version's own flags: only the first reported chest pain.
    assert [[f["id"] for f in v["flags"]] for v in versions] == [[], [], [CHEST_FLAG]]
    assert [_reason(v["response"]) for v in versions] == [
        "just a routine check",
        "I have a sore throat",
        "I have a sore throat",
    ]
    symptoms = answers_by_link_id(versions[2]["response"])["symptoms"]["answer"]
    assert {a["valueCoding"]["code"] for a in symptoms} >= {"chest-pain"}
    times = [v["submitted_at"] for v in versions]
    assert times == sorted(times, reverse=True)
    assert [v["response"]["meta"]["lastUpdated"] for v in versions] == times
    assert versions[2]["lines"][0]["linkId"] == "reason"

    async with clinic.app.state.services.database.session() as session:
        stored = (
            await session.scalars(
                select(IntakeResponseVersion.version).where(
                    IntakeResponseVersion.visit_id == visit_id
                )
            )
        ).all()
        assert sorted(stored) == [1, 2, 3]
        reads = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "intake.history.read")
                .order_by(AuditEvent.id)
            )
        ).all()
    assert [read.detail for read in reads] == [{"versions": 0}, {"versions": 3}]
    read = reads[-1]
    assert (read.actor_type, read.visit_id) == ("clinician", visit_id)
    assert read.actor_id is not None


@pytest.mark.asyncio
async def test_a_second_dialogue_leaves_the_submitted_version_in_view(clinic: Clinic) -> None:
    ada = await clinic.clinician()
    visit_id, patient = await clinic.visit_with_patient(ada)
    await _submit_form(patient, CHEST_PAIN)
    start = await patient.post("/api/patient/intake/dialogue/start", json={"again": True})
    assert start.json()["linkId"] == "reason"
    await patient.post("/api/patient/intake/dialogue/reply", json={"text": "a routine check"})
    await patient.post("/api/patient/intake/dialogue/reply", json={"text": "yes"})

    latest = (await ada.get(f"/api/visits/{visit_id}/intake")).json()
    assert latest["meta"]["versionId"] == "1" and latest["status"] == "completed"
    assert _reason(latest) == "I have a sore throat"
    history = (await ada.get(f"/api/visits/{visit_id}/intake/history")).json()
    assert [v["version_id"] for v in history["versions"]] == ["1"]
    # Resuming (a reconnect) continues the second dialogue where it was.
    resumed = (await patient.post("/api/patient/intake/dialogue/start")).json()
    assert resumed["done"] is False and resumed["linkId"] == "onset"


@pytest.mark.asyncio
async def test_only_the_visits_clinician_reads_the_history(clinic: Clinic) -> None:
    ada = await clinic.clinician()
    bo = await clinic.clinician(BO)
    visit_id, patient = await clinic.visit_with_patient(ada)
    await _submit_form(patient, CHEST_PAIN)
    _, bos_patient = await clinic.visit_with_patient(bo)
    anonymous = await clinic.client()
    route = f"/api/visits/{visit_id}/intake/history"

    refused = await bo.get(route)
    assert refused.status_code == 404
    assert "chest" not in refused.text.lower() and "throat" not in refused.text.lower()
    assert (await patient.get(route)).status_code == 401
    assert (await bos_patient.get(route)).status_code == 401
    assert (await anonymous.get(route)).status_code == 401
    assert (await ada.get("/api/visits/no-such-visit/intake/history")).status_code == 404
    assert (await ada.get(route)).status_code == 200
    async with clinic.app.state.services.database.session() as session:
        reads = (
            await session.scalars(
                select(AuditEvent.actor_id).where(AuditEvent.action == "intake.history.read")
            )
        ).all()
    assert len(reads) == 1  # refused reads leave no read event


@pytest.mark.asyncio
async def test_concurrent_submissions_from_two_processes_each_get_a_version(
    clinic: Clinic,
) -> None:
    """Two runtimes (their own locks, as two server processes have) on one database."""
    ada = await clinic.clinician()
    visit_id, _ = await clinic.visit_with_patient(ada)
    services = clinic.app.state.services
    runtimes = [await open_intake(services.settings) for _ in range(2)]
    outcomes = await asyncio.gather(
        *(
            submit_form(runtime, services.database, services.hub, visit_id, answers)
            for runtime, answers in zip(runtimes, (CHEST_PAIN, ROUTINE), strict=True)
        )
    )
    assert sorted(o.response["meta"]["versionId"] for o in outcomes) == ["1", "2"]
    history = (await ada.get(f"/api/visits/{visit_id}/intake/history")).json()
    assert [v["version_id"] for v in history["versions"]] == ["2", "1"]
    assert [f["id"] for f in history["flags"]] == [CHEST_FLAG]
    summary = (await ada.get(f"/api/visits/{visit_id}/intake/summary")).json()
    assert [f["id"] for f in summary["flags"]] == [CHEST_FLAG]
