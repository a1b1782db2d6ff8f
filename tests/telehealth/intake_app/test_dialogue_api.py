"""The text dialogue over HTTP (the voice path): storage after each step, identity with the
form, resuming in another process, and its refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from telehealth.intake_service import IntakeSessions, open_intake, sessions
from telehealth.storage.models import IntakeResponse
from tests.conftest import make_settings
from tests.telehealth.api_client import client_for, running_app

from .conftest import EMERGENCY_NUMBER, Clinic
from .sample import FORM_ANSWERS, VOICE_REPLIES, answers_by_link_id, without_identity


async def _row(clinic: Clinic, visit_id: str) -> IntakeResponse:
    async with clinic.app.state.services.database.session() as session:
        result = await session.execute(
            select(IntakeResponse).where(IntakeResponse.visit_id == visit_id)
        )
        row: IntakeResponse = result.scalar_one()
        return row


async def _say(patient: httpx.AsyncClient, text: str) -> dict[str, Any]:
    response = await patient.post("/api/patient/intake/dialogue/reply", json={"text": text})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.asyncio
async def test_dialogue_and_form_store_identical_responses(clinic: Clinic) -> None:
    ada = await clinic.clinician()
    voice_visit, voice_patient = await clinic.visit_with_patient(ada)
    form_visit, form_patient = await clinic.visit_with_patient(ada)

    assert (
        await voice_patient.post("/api/patient/intake/dialogue/reply", json={"text": "hi"})
    ).status_code == 409
    first = (await voice_patient.post("/api/patient/intake/dialogue/start")).json()
    assert first["stage"] == "question" and first["linkId"] == "reason"
    assert first["expects"] == "free_text" and first["prompt"].startswith("Hello.")

    turn = await _say(voice_patient, VOICE_REPLIES[0])
    assert turn["stage"] == "confirm" and "yes" in turn["phrases"]
    turn = await _say(voice_patient, VOICE_REPLIES[1])
    # Stored after each answered item, in progress.
    row = await _row(clinic, voice_visit)
    assert (row.status, row.source) == ("in-progress", "voice")
    assert answers_by_link_id(row.response)["reason"]["answer"] == [
        {"valueString": "I have a sore throat"}
    ]
    assert row.response["status"] == "in-progress"
    assert (await voice_patient.get("/api/patient/intake")).json()["status"] == "in-progress"

    for text in VOICE_REPLIES[2:]:
        turn = await _say(voice_patient, text)
    assert turn["done"] is True and turn["stage"] == "done" and turn["urgent"] is False
    voice = (await ada.get(f"/api/visits/{voice_visit}/intake")).json()

    form = await form_patient.post("/api/patient/intake/form", json={"answers": FORM_ANSWERS})
    assert form.status_code == 200
    assert without_identity(voice) == without_identity(form.json()["response"])
    assert voice["status"] == "completed"
    assert len(answers_by_link_id(voice)) == len(FORM_ANSWERS)

    row = await _row(clinic, voice_visit)
    assert row.status == "completed" and row.completed_at is not None
    assert row.dialogue is None  # the raw replies are not kept once the intake is done
    summary = (await ada.get(f"/api/visits/{voice_visit}/intake/summary")).json()
    form_summary = (await ada.get(f"/api/visits/{form_visit}/intake/summary")).json()
    assert summary["lines"] == form_summary["lines"]
    assert summary["source"] == "voice" and form_summary["source"] == "form"

    # A finished intake says so, whatever is said next.
    again = (await voice_patient.post("/api/patient/intake/dialogue/start")).json()
    assert again["done"] is True and again["prompt"].startswith("Your answers are already")
    assert (await _say(voice_patient, "yes"))["done"] is True


@pytest.mark.asyncio
async def test_a_red_flag_in_the_dialogue_warns_at_once_and_marks_urgent(clinic: Clinic) -> None:
    ada = await clinic.clinician()
    visit_id, patient = await clinic.visit_with_patient(ada)
    await patient.post("/api/patient/intake/dialogue/start")
    turn = await _say(patient, "my chest is tight and I can't get air")
    assert turn["stage"] == "confirm"  # the reason still needs confirming...
    turn = await _say(patient, "yes")
    # ...and once confirmed, the warning comes before the next question.
    assert turn["newFlags"] == ["chest-pain-with-breathlessness"] and turn["urgent"] is True
    assert turn["prompt"].startswith("What you told me could be a sign of an emergency.")
    assert f"call {EMERGENCY_NUMBER} now" in turn["prompt"]
    assert turn["linkId"] == "onset"

    row = await _row(clinic, visit_id)
    assert row.urgent is True and row.status == "in-progress"
    assert [f["id"] for f in row.flags] == ["chest-pain-with-breathlessness"]
    flags = (await ada.get("/api/intake/flags")).json()
    assert flags[visit_id]["urgent"] is True
    turn = await _say(patient, "two days")
    assert turn["newFlags"] == [] and turn["flags"] == ["chest-pain-with-breathlessness"]


@pytest.mark.asyncio
async def test_another_process_resumes_the_dialogue(clinic: Clinic, tmp_path: Path) -> None:
    """Two apps on one database stand for two server processes behind a load balancer."""
    ada = await clinic.clinician()
    visit_id, invite = await clinic.new_visit(ada)
    patient = await clinic.patient(invite)
    cookie = patient.cookies["th_patient"]
    await patient.post("/api/patient/intake/dialogue/start")
    for text in VOICE_REPLIES[:3]:
        await _say(patient, text)

    settings = clinic.app.state.services.settings
    # Processes sharing a database share its key (and the application key).
    other_settings = make_settings(
        tmp_path / "other",
        database_url=settings.database_url,
        database_key=settings.resolved_database_key().hex,
        secret_key=settings.resolved_secret_key(),
        emergency_number="112",
    )
    async with running_app(other_settings) as other, client_for(other) as elsewhere:
        elsewhere.cookies.set("th_patient", cookie)
        resumed = (await elsewhere.post("/api/patient/intake/dialogue/start")).json()
        assert (
            resumed["stage"] == "confirm" and resumed["prompt"] == "I heard 3 days. Is that right?"
        )
        # Both processes at once: one write wins, the other reads the new revision and
        # applies its reply after it; neither is lost.
        before = (await _row(clinic, visit_id)).dialogue
        assert before is not None
        both = await asyncio.gather(_say(patient, "repeat"), _say(elsewhere, "repeat"))
        assert [turn["prompt"] for turn in both] == ["I heard 3 days. Is that right?"] * 2
        after = (await _row(clinic, visit_id)).dialogue
        assert after is not None and len(after["replies"]) == len(before["replies"]) + 2
        # Replies alternate between the processes; each sees the other's writes.
        for index, text in enumerate(VOICE_REPLIES[3:], start=3):
            turn = await _say(elsewhere if index % 2 else patient, text)
        assert turn["done"] is True
    voice = (await ada.get(f"/api/visits/{visit_id}/intake")).json()
    _, form_patient = await clinic.visit_with_patient(ada)
    form = (
        await form_patient.post("/api/patient/intake/form", json={"answers": FORM_ANSWERS})
    ).json()
    assert without_identity(voice) == without_identity(form["response"])


@pytest.mark.asyncio
async def test_the_python_api_and_its_limits(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = await clinic.clinician()
    visit_id, patient = await clinic.visit_with_patient(ada)
    services = clinic.app.state.services
    # The voice wiring's own runtime: its dialogue cache is not the HTTP routes' cache.
    runtime = await open_intake(services.settings)
    intake = IntakeSessions(runtime, services.database, services.hub)
    assert (await intake.start(visit_id)).link_id == "reason"
    turn = await intake.reply(visit_id, "sore throat")
    assert turn.stage == "confirm"
    assert len(runtime.dialogues) == 1

    monkeypatch.setattr(sessions, "MAX_REPLIES", 2)
    await intake.reply(visit_id, "yes")
    too_long = await patient.post("/api/patient/intake/dialogue/reply", json={"text": "3 days"})
    assert too_long.status_code == 409 and "please use the form" in too_long.json()["detail"]
    # The keyboard is always a way out.
    form = await patient.post("/api/patient/intake/form", json={"answers": FORM_ANSWERS})
    assert form.status_code == 200
    assert (await _row(clinic, visit_id)).source == "form"
    assert (await intake.reply(visit_id, "anything")).done is True
