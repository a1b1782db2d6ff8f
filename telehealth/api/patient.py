"""The patient side: open an invite, see the visit, keep the session while it is open,
sign out."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Cookie, HTTPException, Response, status

from telehealth.api.auth import SessionExpiryOut, set_session_cookie
from telehealth.api.schemas import InviteRequest, PatientSessionRequest, PatientVisitOut
from telehealth.auth.deps import CurrentPatient
from telehealth.auth.patient_sessions import open_patient_session, sign_out_patient
from telehealth.auth.sessions import PATIENT_COOKIE, extend_session, session_expires_at
from telehealth.deps import ServicesDep, SessionDep, SettingsDep
from telehealth.realtime.patient_notices import patient_sessions_ended
from telehealth.storage.models import Clinician, SessionKind, Visit
from telehealth.visits.lifecycle import is_open
from telehealth.visits.patient_names import NameRefused
from telehealth.visits.service import InviteInvalid, redeem_invite

router = APIRouter(prefix="/api/patient", tags=["patient"])

# A patient session lasts long enough for a visit, however late it runs; it is counted from
# opening the link, which may be hours early, so the page offers to extend it before it ends.
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


@router.post("/invite")
async def preview_invite(body: InviteRequest, session: SessionDep) -> PatientVisitOut:
    """The visit an invite opens, without opening a session: the join page greets the
    patient, and voice guidance starts, before they give their name."""
    try:
        visit = await redeem_invite(session, body.invite)
    except InviteInvalid as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    return await _describe(session, visit, "")


@router.post("/session")
async def open_session(
    body: PatientSessionRequest, response: Response, session: SessionDep, services: ServicesDep
) -> PatientVisitOut:
    """Exchange an invite token for a session scoped to its one visit; a session opened
    earlier with the link (another device) ends."""
    try:
        opened = await open_patient_session(
            session,
            invite_token=body.invite,
            display_name=body.display_name,
            ttl=PATIENT_SESSION_TTL,
        )
    except NameRefused as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    except InviteInvalid as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    described = await _describe(session, opened.visit, opened.display_name)
    if opened.replaced:
        # Committed first, so the woken websockets find their session ended.
        await session.commit()
        await patient_sessions_ended(services, opened.visit.id, opened.replaced, rejoined=True)
    set_session_cookie(
        response,
        services.settings,
        PATIENT_COOKIE,
        opened.token,
        int(PATIENT_SESSION_TTL.total_seconds()),
    )
    return described


@router.get("/visit")
async def my_visit(patient: CurrentPatient, session: SessionDep) -> PatientVisitOut:
    """The visit this patient session belongs to."""
    visit = await session.get(Visit, patient.visit_id)
    if visit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this visit no longer exists")
    return await _describe(session, visit, patient.display_name)


async def _require_open_visit(session: SessionDep, patient: CurrentPatient) -> None:
    # Once the visit is over there is nothing to stay for: no warning, no extension.
    visit = await session.get(Visit, patient.visit_id)
    if visit is None or not is_open(visit.status):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this visit is no longer open")


@router.get("/session")
async def my_session(patient: CurrentPatient, session: SessionDep) -> SessionExpiryOut:
    """When this patient session ends, while its visit is open."""
    await _require_open_visit(session, patient)
    return SessionExpiryOut(expires_at=await session_expires_at(session, patient))


@router.post("/extend")
async def extend(
    patient: CurrentPatient,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Cookie(alias=PATIENT_COOKIE)] = None,
) -> SessionExpiryOut:
    """Stay in the visit: the session ends one patient-session lifetime from now."""
    await _require_open_visit(session, patient)
    expires_at = await extend_session(session, token, SessionKind.patient, PATIENT_SESSION_TTL)
    if expires_at is None or token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "your visit link has expired; ask the clinic for a new one",
        )
    set_session_cookie(
        response, settings, PATIENT_COOKIE, token, int(PATIENT_SESSION_TTL.total_seconds())
    )
    return SessionExpiryOut(expires_at=expires_at)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(
    response: Response,
    session: SessionDep,
    services: ServicesDep,
    token: Annotated[str | None, Cookie(alias=PATIENT_COOKIE)] = None,
) -> None:
    """Leave and sign out: this browser's patient session ends (the link may open it again
    while the visit is open)."""
    signed_out = await sign_out_patient(session, token)
    if signed_out is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "there is no visit to sign out of")
    response.delete_cookie(PATIENT_COOKIE, path="/", httponly=True, samesite="strict")
    await session.commit()
    await patient_sessions_ended(services, signed_out.visit_id, [signed_out.session_hash])
