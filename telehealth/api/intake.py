"""The symptom intake: questionnaire, form, text dialogue, and the clinician's views."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints

from telehealth.api.audited_reads import refused_read
from telehealth.auth.deps import AnyParticipant, CurrentClinician, CurrentPatient
from telehealth.deps import NowDep, ServicesDep, SessionDep
from telehealth.intake_service import (
    FormRejected,
    IntakeBusy,
    IntakeClosed,
    IntakeNotFound,
    IntakeNotStarted,
    IntakeRuntime,
    IntakeServiceError,
    IntakeSessions,
    IntakeTooLong,
    submit_form,
    views,
)
from telehealth.visits.ranges import VisitRange, visit_window

router = APIRouter(tags=["intake"])

FHIR_JSON = "application/fhir+json"
FieldText = Annotated[str, StringConstraints(max_length=2000)]
LinkId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
_STATUS_FOR_ERROR: dict[type[IntakeServiceError], int] = {
    IntakeClosed: status.HTTP_409_CONFLICT,
    IntakeNotStarted: status.HTTP_409_CONFLICT,
    IntakeTooLong: status.HTTP_409_CONFLICT,
    IntakeBusy: status.HTTP_503_SERVICE_UNAVAILABLE,
    IntakeNotFound: status.HTTP_404_NOT_FOUND,
}


class IntakeFormIn(BaseModel):
    answers: dict[LinkId, FieldText | Annotated[list[FieldText], Field(max_length=50)]] = Field(
        max_length=200
    )


class IntakeFormOut(BaseModel):
    response: dict[str, Any]
    urgent: bool
    flags: list[str]
    emergency_message: str | None


class DialogueStartIn(BaseModel):
    # True to answer again after a finished intake: the new answers become a new version.
    again: bool = False


class DialogueReplyIn(BaseModel):
    text: str = Field(max_length=2000)


def get_intake_runtime(services: ServicesDep) -> IntakeRuntime:
    return services.intake


IntakeRuntimeDep = Annotated[IntakeRuntime, Depends(get_intake_runtime)]


def get_intake_sessions(services: ServicesDep) -> IntakeSessions:
    return services.intake_sessions


IntakeSessionsDep = Annotated[IntakeSessions, Depends(get_intake_sessions)]


def _refused(error: IntakeServiceError) -> HTTPException:
    code = _STATUS_FOR_ERROR.get(type(error), status.HTTP_409_CONFLICT)
    return HTTPException(code, str(error))


def _refused_read(
    session: SessionDep,
    clinician: CurrentClinician,
    visit_id: str,
    view: str,
    error: IntakeNotFound,
) -> JSONResponse:
    # Audited like the read it would have been (another clinician's visit looks the same).
    return refused_read(
        session,
        clinician,
        "intake.viewed",
        visit_id=visit_id,
        status_code=status.HTTP_404_NOT_FOUND,
        message=str(error),
        detail={"view": view},
    )


def _patient_visit(patient: CurrentPatient) -> str:
    assert patient.visit_id is not None  # a patient session always has its visit
    return patient.visit_id


@router.get("/api/intake/questionnaire")
async def questionnaire(_participant: AnyParticipant, runtime: IntakeRuntimeDep) -> Response:
    """The FHIR Questionnaire the intake asks."""
    return Response(json.dumps(runtime.questionnaire_json), media_type=FHIR_JSON)


@router.get("/api/patient/intake")
async def my_intake(patient: CurrentPatient, session: SessionDep) -> dict[str, Any]:
    """Whether this visit's intake is not started, in progress or completed."""
    return await views.patient_intake_state(session, _patient_visit(patient))


@router.post("/api/patient/intake/form", response_model=IntakeFormOut)
async def submit_intake_form(
    body: IntakeFormIn,
    patient: CurrentPatient,
    runtime: IntakeRuntimeDep,
    services: ServicesDep,
) -> IntakeFormOut | JSONResponse:
    """Store the intake form (422 with a message per field when some are not understood)."""
    try:
        outcome = await submit_form(
            runtime, services.database, services.hub, _patient_visit(patient), body.answers
        )
    except FormRejected as rejected:
        return JSONResponse(
            {
                "errors": rejected.errors,
                "urgent": bool(rejected.flags),
                "flags": [flag.id for flag in rejected.flags],
                "emergency_message": rejected.emergency_message,
            },
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    except IntakeServiceError as error:
        raise _refused(error) from None
    return IntakeFormOut(
        response=outcome.response,
        urgent=outcome.urgent,
        flags=[flag.id for flag in outcome.flags],
        emergency_message=outcome.emergency_message,
    )


@router.post("/api/patient/intake/dialogue/start")
async def start_dialogue(
    patient: CurrentPatient, sessions: IntakeSessionsDep, body: DialogueStartIn | None = None
) -> dict[str, Any]:
    """The first prompt of the intake dialogue, or the last one again when resuming."""
    again = body is not None and body.again
    try:
        turn = await sessions.start(_patient_visit(patient), again=again)
    except IntakeServiceError as error:
        raise _refused(error) from None
    return turn.to_dict()


@router.post("/api/patient/intake/dialogue/reply")
async def reply_dialogue(
    body: DialogueReplyIn, patient: CurrentPatient, sessions: IntakeSessionsDep
) -> dict[str, Any]:
    """Take the patient's reply and return the next prompt."""
    try:
        turn = await sessions.reply(_patient_visit(patient), body.text)
    except IntakeServiceError as error:
        raise _refused(error) from None
    return turn.to_dict()


@router.get("/api/visits/{visit_id}/intake")
async def visit_intake(visit_id: str, clinician: CurrentClinician, session: SessionDep) -> Response:
    """The visit's FHIR QuestionnaireResponse."""
    assert clinician.clinician_id is not None
    try:
        row = await views.clinician_intake(session, visit_id, clinician.clinician_id, view="fhir")
    except IntakeNotFound as error:
        return _refused_read(session, clinician, visit_id, "fhir", error)
    except IntakeServiceError as error:
        raise _refused(error) from None
    return Response(json.dumps(row.response), media_type=FHIR_JSON)


@router.get("/api/visits/{visit_id}/intake/summary", response_model=dict[str, Any])
async def visit_intake_summary(
    visit_id: str, clinician: CurrentClinician, session: SessionDep
) -> dict[str, Any] | JSONResponse:
    """The one-screen intake summary, urgent flags first."""
    assert clinician.clinician_id is not None
    try:
        row = await views.clinician_intake(
            session, visit_id, clinician.clinician_id, view="summary"
        )
    except IntakeNotFound as error:
        return _refused_read(session, clinician, visit_id, "summary", error)
    except IntakeServiceError as error:
        raise _refused(error) from None
    return views.summary_view(row)


@router.get("/api/visits/{visit_id}/intake/history")
async def visit_intake_history(
    visit_id: str, clinician: CurrentClinician, session: SessionDep
) -> dict[str, Any]:
    """Every submitted version of the visit's intake, newest first, with their red flags."""
    assert clinician.clinician_id is not None
    try:
        history = await views.clinician_intake_history(session, visit_id, clinician.clinician_id)
    except IntakeServiceError as error:
        raise _refused(error) from None
    return views.history_view(history)


@router.get("/api/intake/flags")
async def intake_flags(
    clinician: CurrentClinician,
    session: SessionDep,
    now: NowDep,
    range_: Annotated[VisitRange, Query(alias="range")] = "today",
) -> dict[str, dict[str, Any]]:
    """Intake urgency of the clinician's visits (same ranges as /api/visits), by visit id."""
    assert clinician.clinician_id is not None
    start, end = visit_window(range_, now)
    return await views.flags_by_visit(session, clinician.clinician_id, start, end)
