"""The keyboard path over HTTP: questionnaire, form, validation, clinician views, access."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from sqlalchemy import func, select

from telehealth.intake import load_questionnaire
from telehealth.storage.models import AuditEvent, IntakeResponse, Visit, VisitStatus

from .conftest import BO, EMERGENCY_NUMBER, Clinic
from .sample import FORM_ANSWERS, answers_by_link_id


async def _intake_rows(clinic: Clinic) -> list[IntakeResponse]:
    async with clinic.app.state.services.database.session() as session:
        return list((await session.execute(select(IntakeResponse))).scalars())


async def _audit(clinic: Clinic, action: str) -> list[AuditEvent]:
    async with clinic.app.state.services.database.session() as session:
        result = await session.execute(select(AuditEvent).where(AuditEvent.action == action))
        return list(result.scalars())


@pytest.mark.asyncio
async def test_questionnaire_is_served_to_participants_only(clinic: Clinic) -> None:
    anonymous = await clinic.client()
    assert (await anonymous.get("/api/intake/questionnaire")).status_code == 401
    ada = await clinic.clinician()
    _, patient = await clinic.visit_with_patient(ada)
    for caller in (ada, patient):
        response = await caller.get("/api/intake/questionnaire")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/fhir+json"
        body = response.json()
        assert body["resourceType"] == "Questionnaire"
        assert [group["linkId"] for group in body["item"]] == ["visit", "about-you", "history"]


@pytest.mark.asyncio
async def test_form_stores_a_valid_completed_response(clinic: Clinic) -> None:
    ada = await clinic.clinician()
    visit_id, patient = await clinic.visit_with_patient(ada)
    assert (await patient.get("/api/patient/intake")).json()["status"] == "not-started"

    submitted = await patient.post("/api/patient/intake/form", json={"answers": FORM_ANSWERS})
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert body["urgent"] is False and body["flags"] == [] and body["emergency_message"] is None
    response = body["response"]
    QuestionnaireResponse.model_validate(response)  # valid FHIR R4(B)
    assert response["status"] == "completed"
    assert response["questionnaire"] == load_questionnaire().canonical
    by_id = answers_by_link_id(response)
    assert by_id["severity"]["answer"] == [{"valueInteger": 7}]
    assert by_id["onset"]["answer"][0]["valueQuantity"]["code"] == "d"
    assert [a["valueCoding"]["code"] for a in by_id["symptoms"]["answer"]] == ["fever", "cough"]
    assert by_id["pregnant"]["answer"] == [{"valueBoolean": False}]
    assert [a["valueString"] for a in by_id["medications"]["answer"]] == ["ibuprofen", "metformin"]
    assert by_id["allergies"]["extension"][0]["valueCode"] == "asked-unknown"

    [row] = await _intake_rows(clinic)
    assert (row.visit_id, row.status, row.source, row.urgent) == (
        visit_id,
        "completed",
        "form",
        False,
    )
    assert row.response == response and row.completed_at is not None
    assert response["id"] == row.id
    assert (await patient.get("/api/patient/intake")).json() == {
        "status": "completed",
        "source": "form",
        "urgent": False,
    }

    fhir = await ada.get(f"/api/visits/{visit_id}/intake")
    assert fhir.status_code == 200
    assert fhir.headers["content-type"] == "application/fhir+json"
    assert fhir.json() == response

    summary = (await ada.get(f"/api/visits/{visit_id}/intake/summary")).json()
    assert summary["urgent"] is False and summary["flags"] == []
    lines = {line["linkId"]: line["text"] for line in summary["lines"]}
    assert lines["severity"] == "7 out of 10"
    assert lines["allergies"] == "not known"
    assert list(lines)[0] == "reason"
    completed = await _audit(clinic, "intake.completed")
    assert [(e.visit_id, e.detail) for e in completed] == [(visit_id, {"source": "form"})]
    viewed = await _audit(clinic, "intake.viewed")
    assert {e.detail["view"] for e in viewed} == {"fhir", "summary"}


@pytest.mark.asyncio
async def test_invalid_form_gives_field_errors_and_stores_nothing(clinic: Clinic) -> None:
    ada = await clinic.clinician()
    visit_id, patient = await clinic.visit_with_patient(ada)
    bad = {
        **FORM_ANSWERS,
        "reason": "  ",
        "severity": "eleven",
        "onset": "a few days",
        "symptoms": ["fever", "none"],
        "favourite-colour": "blue",
    }
    response = await patient.post("/api/patient/intake/form", json={"answers": bad})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == {
        "reason": "Please answer this question.",
        "severity": "This value is outside the allowed range.",
        "onset": "Please give one clear answer.",
        "symptoms": "Please give one clear answer.",
        "favourite-colour": "This field is not part of the questionnaire.",
    }
    assert body["urgent"] is False and body["emergency_message"] is None
    assert await _intake_rows(clinic) == []
    assert (await ada.get(f"/api/visits/{visit_id}/intake")).status_code == 404
    # A body that is not a form at all is refused by the schema.
    wrong_shape = await patient.post("/api/patient/intake/form", json={"answers": {"age": 34}})
    assert wrong_shape.status_code == 422 and "detail" in wrong_shape.json()
    assert await _intake_rows(clinic) == []


@pytest.mark.asyncio
async def test_red_flags_from_the_form_mark_the_intake_urgent(clinic: Clinic) -> None:
    ada = await clinic.clinician()
    visit_id, patient = await clinic.visit_with_patient(ada)
    answers = {**FORM_ANSWERS, "severity": "10", "symptoms": ["chest pain", "shortness of breath"]}
    body = (await patient.post("/api/patient/intake/form", json={"answers": answers})).json()
    assert body["urgent"] is True
    assert body["flags"] == ["chest-pain-with-breathlessness", "severity-9-or-10"]
    assert f"call {EMERGENCY_NUMBER} now" in body["emergency_message"]

    summary = (await ada.get(f"/api/visits/{visit_id}/intake/summary")).json()
    assert list(summary)[:3] == ["visit_id", "urgent", "flags"]
    assert summary["urgent"] is True
    assert [f["id"] for f in summary["flags"]] == body["flags"]
    assert summary["flags"][0]["title"] == "Chest pain with shortness of breath"
    [urgent] = await _audit(clinic, "intake.urgent")
    assert urgent.visit_id == visit_id
    assert urgent.detail == {"flags": body["flags"], "source": "form"}

    # A corrected form cannot withdraw a flag: the clinician decides.
    calm = (await patient.post("/api/patient/intake/form", json={"answers": FORM_ANSWERS})).json()
    assert calm["urgent"] is True and calm["flags"] == body["flags"]
    assert calm["emergency_message"] is None
    assert len(await _audit(clinic, "intake.urgent")) == 1  # nothing new to alert
    [row] = await _intake_rows(clinic)
    assert answers_by_link_id(row.response)["severity"]["answer"] == [{"valueInteger": 7}]


@pytest.mark.asyncio
async def test_self_harm_counts_even_in_an_incomplete_form(clinic: Clinic) -> None:
    ada = await clinic.clinician()
    visit_id, patient = await clinic.visit_with_patient(ada)
    answers = {"reason": "I don't want to live anymore", "severity": "eleven"}
    response = await patient.post("/api/patient/intake/form", json={"answers": answers})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"]["severity"] == "This value is outside the allowed range."
    assert body["urgent"] is True and body["flags"] == ["self-harm"]
    assert "You are not alone" in body["emergency_message"]
    [row] = await _intake_rows(clinic)
    # Urgent, but none of the incomplete form's answers is stored.
    assert row.urgent is True and row.status == "in-progress"
    assert "item" not in row.response
    flags = (await ada.get("/api/intake/flags")).json()
    assert flags[visit_id]["urgent"] is True
    assert [f["id"] for f in flags[visit_id]["flags"]] == ["self-harm"]


@pytest.mark.asyncio
async def test_clinicians_see_only_their_own_visits_intake(clinic: Clinic) -> None:
    ada = await clinic.clinician()
    bo = await clinic.clinician(BO)
    ada_visit, ada_patient = await clinic.visit_with_patient(ada)
    bo_visit, bo_patient = await clinic.visit_with_patient(bo)
    urgent = {**FORM_ANSWERS, "severity": "9"}
    await ada_patient.post("/api/patient/intake/form", json={"answers": urgent})
    await bo_patient.post("/api/patient/intake/form", json={"answers": FORM_ANSWERS})

    for path in (f"/api/visits/{ada_visit}/intake", f"/api/visits/{ada_visit}/intake/summary"):
        assert (await bo.get(path)).status_code == 404
        assert (await ada.get(path)).status_code == 200
        assert (await ada_patient.get(path)).status_code == 401
    assert (await ada.get("/api/visits/no-such-visit/intake")).status_code == 404

    assert (await ada.get("/api/intake/flags", params={"range": "today"})).json() == {
        ada_visit: {
            "urgent": True,
            "flags": [
                {
                    "id": "severity-9-or-10",
                    "title": "Severity 9 or 10 out of 10",
                    "advice": "emergency",
                }
            ],
            "status": "completed",
        }
    }
    bo_flags = (await bo.get("/api/intake/flags", params={"range": "upcoming"})).json()
    assert bo_flags == {bo_visit: {"urgent": False, "flags": [], "status": "completed"}}
    assert (await ada_patient.get("/api/intake/flags")).status_code == 401
    assert (await bo.get("/api/intake/flags", params={"range": "yesterday"})).status_code == 422


@pytest.mark.asyncio
async def test_a_visit_that_is_over_takes_no_intake(clinic: Clinic) -> None:
    ada = await clinic.clinician()
    visit_id, patient = await clinic.visit_with_patient(ada)
    async with clinic.app.state.services.database.session() as session:
        visit = await session.get(Visit, visit_id)
        assert visit is not None
        visit.status = VisitStatus.in_call
        visit.started_at = datetime.now(UTC)
    form = await patient.post("/api/patient/intake/form", json={"answers": FORM_ANSWERS})
    assert form.status_code == 409
    assert form.json()["detail"] == "this visit no longer takes intake answers"
    assert (await patient.post("/api/patient/intake/dialogue/start")).status_code == 409
    async with clinic.app.state.services.database.session() as session:
        count = await session.scalar(select(func.count()).select_from(IntakeResponse))
    assert count == 0
