"""Dependencies that authenticate a request by its session cookie."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Cookie, Depends, HTTPException, Request, status

from telehealth.auth.patient_sessions import refusal_message
from telehealth.auth.sessions import CLINICIAN_COOKIE, PATIENT_COOKIE, Principal, resolve
from telehealth.deps import SessionDep, SettingsDep
from telehealth.middleware.cross_site import UNSAFE_METHODS
from telehealth.storage.models import Clinician, SessionKind, SessionStage, StaffRole

AWAITING_CODE = frozenset({SessionStage.second_factor})
# Setting up a second factor is open to the signed-in, and to those who must do it first.
MAY_ENROLL = frozenset({SessionStage.enroll, SessionStage.signed_in})
MUST_CHANGE_PASSWORD = frozenset({SessionStage.change_password})


async def current_clinician(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Cookie(alias=CLINICIAN_COOKIE)] = None,
) -> Principal:
    # A change made is activity; reading is not, or a page that refreshes itself would keep
    # an unattended session open for ever.
    idle_after = (
        timedelta(minutes=settings.staff_idle_timeout_minutes)
        if request.method in UNSAFE_METHODS
        else None
    )
    principal = await resolve(session, token, SessionKind.clinician, idle_after=idle_after)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "please sign in")
    return principal


CurrentClinician = Annotated[Principal, Depends(current_clinician)]


async def current_admin(principal: CurrentClinician, session: SessionDep) -> Principal:
    # The role is read on every request, so taking it away takes effect at once.
    clinician = await session.get(Clinician, principal.clinician_id)
    if clinician is None or clinician.role != StaffRole.admin.value:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an admin may do this")
    return principal


async def admin_or_not_found(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Cookie(alias=CLINICIAN_COOKIE)] = None,
) -> Principal:
    # For what should not even be known to exist unless one is an admin (the API docs).
    try:
        principal = await current_clinician(request, session, settings, token)
        return await current_admin(principal, session)
    except HTTPException:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found") from None


def _staff_at_stages(
    stages: frozenset[SessionStage], refusal: str
) -> Callable[..., Awaitable[Principal]]:
    """A dependency for a staff session part-way through signing in (at one of `stages`)."""

    async def dependency(
        session: SessionDep, token: Annotated[str | None, Cookie(alias=CLINICIAN_COOKIE)] = None
    ) -> Principal:
        principal = await resolve(session, token, SessionKind.clinician, stages=stages)
        if principal is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, refusal)
        return principal

    return dependency


changing_password = _staff_at_stages(MUST_CHANGE_PASSWORD, "please sign in with your password")
half_signed_in = _staff_at_stages(AWAITING_CODE, "please sign in with your password")
enrolling_clinician = _staff_at_stages(MAY_ENROLL, "please sign in")


async def current_patient(
    session: SessionDep,
    token: Annotated[str | None, Cookie(alias=PATIENT_COOKIE)] = None,
) -> Principal:
    principal = await resolve(session, token, SessionKind.patient)
    if principal is None:
        # Says why when the session was ended early: opened on another device, the link
        # withdrawn, the visit closed.
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, await refusal_message(session, token))
    return principal


async def any_participant(
    session: SessionDep,
    clinician_token: Annotated[str | None, Cookie(alias=CLINICIAN_COOKIE)] = None,
    patient_token: Annotated[str | None, Cookie(alias=PATIENT_COOKIE)] = None,
) -> Principal:
    principal = await resolve(session, clinician_token, SessionKind.clinician) or await resolve(
        session, patient_token, SessionKind.patient
    )
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "please sign in or open your visit link")
    return principal


# Password given, second-factor code due: only POST /api/auth/mfa/verify takes it.
HalfSignedIn = Annotated[Principal, Depends(half_signed_in)]
# Signed in, or signed in by password with a second factor still to be set up.
EnrollingClinician = Annotated[Principal, Depends(enrolling_clinician)]
# A signed-in staff member with the admin role (403 for a clinician).
CurrentAdmin = Annotated[Principal, Depends(current_admin)]
# An admin; anyone else is told there is nothing here (404).
AdminOrNotFound = Annotated[Principal, Depends(admin_or_not_found)]
# Signed in by a temporary password: only POST /api/auth/password takes it.
ChangingPassword = Annotated[Principal, Depends(changing_password)]
CurrentPatient = Annotated[Principal, Depends(current_patient)]
AnyParticipant = Annotated[Principal, Depends(any_participant)]
