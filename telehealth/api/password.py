"""Changing a temporary password at first sign-in."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from telehealth.api.auth import PasswordChangeDueOut, SecondFactorDueOut, signed_in_or_next_step
from telehealth.api.schemas import ClinicianOut, NewPasswordRequest
from telehealth.auth.deps import ChangingPassword
from telehealth.auth.password_change import replace_temporary_password
from telehealth.auth.sessions import StaffSessionLimits
from telehealth.deps import ServicesDep, SessionDep
from telehealth.security import WeakPassword

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/password")
async def change_temporary_password(
    body: NewPasswordRequest,
    response: Response,
    principal: ChangingPassword,
    session: SessionDep,
    services: ServicesDep,
) -> ClinicianOut | SecondFactorDueOut | PasswordChangeDueOut:
    """Replace the temporary password an admin set; answers like a sign-in (a new session
    cookie, signed in or with the second factor next)."""
    settings = services.settings
    try:
        signed_in = await replace_temporary_password(
            session, services.sign_in, principal, body.new_password, StaffSessionLimits.of(settings)
        )
    except WeakPassword as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    return signed_in_or_next_step(response, settings, signed_in)
