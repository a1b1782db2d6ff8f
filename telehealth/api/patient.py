"""The patient side: open an invite, see the visit."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Response, status

from telehealth.api.auth import set_session_cookie
from telehealth.api.schemas import PatientSessionRequest, PatientVisitOut
from telehealth.auth.deps import CurrentPatient
from telehealth.auth.sessions import PATIENT_COOKIE, open_patient_session
from telehealth.deps import SessionDep, SettingsDep
from telehealth.storage.models import Clinician, Visit
from telehealth.visits.service import InviteInvalid

router = APIRouter(prefix="/api/patient", tags=["patient"])

# A patient session lasts long enough for a visit, however late it runs.
PATIENT_SESSION_TTL = timedelta(hours=12)


async def _describe(session: SessionDep, visit: Visit, display_name: str) -> PatientVisitOut:
    clinician = await session.get(Clinician, visit.clinician_id)
    return PatientVisitOut(
        visit_id=visit.id,
        scheduled_at=visit.scheduled_at,
        status=visit.status,
        clinician_name=clinician.display_name if clinician else "",
        display_name=display_name,
    )


@router.post("/session")
async def open_session(
    body: PatientSessionRequest, response: Response, session: SessionDep, settings: SettingsDep
) -> PatientVisitOut:
    """Exchange an invite token for a session scoped to its one visit."""
    try:
        visit, token = await open_patient_session(
            session,
            invite_token=body.invite,
            display_name=body.display_name.strip(),
            ttl=PATIENT_SESSION_TTL,
        )
    except InviteInvalid as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    set_session_cookie(
        response, settings, PATIENT_COOKIE, token, int(PATIENT_SESSION_TTL.total_seconds())
    )
    return await _describe(session, visit, body.display_name.strip())


@router.get("/visit")
async def my_visit(patient: CurrentPatient, session: SessionDep) -> PatientVisitOut:
    """The visit this patient session belongs to."""
    visit = await session.get(Visit, patient.visit_id)
    if visit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this visit no longer exists")
    return await _describe(session, visit, patient.display_name)
