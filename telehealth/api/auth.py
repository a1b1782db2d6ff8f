"""Clinician sign in, sign out, and staying signed in."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Cookie, HTTPException, Response, status
from pydantic import BaseModel

from telehealth.api.schemas import ClinicianOut, LoginRequest
from telehealth.auth.deps import CurrentClinician
from telehealth.auth.sessions import (
    CLINICIAN_COOKIE,
    LoginFailed,
    end_session,
    extend_session,
    login_clinician,
    session_expires_at,
)
from telehealth.deps import SessionDep, SettingsDep
from telehealth.settings import Settings
from telehealth.storage.models import Clinician, SessionKind

router = APIRouter(prefix="/api/auth", tags=["auth"])


class SessionExpiryOut(BaseModel):
    """When a session ends unless its user extends it (ISO 8601, UTC)."""

    expires_at: datetime


class SignedInClinicianOut(ClinicianOut):
    expires_at: datetime


def set_session_cookie(
    response: Response, settings: Settings, name: str, token: str, max_age_s: int
) -> None:
    response.set_cookie(
        name,
        token,
        max_age=max_age_s,
        httponly=True,
        samesite="strict",
        path="/",
        secure=settings.public_base_url.startswith("https://"),
    )


@router.post("/login")
async def login(
    body: LoginRequest, response: Response, session: SessionDep, settings: SettingsDep
) -> ClinicianOut:
    """Sign in; sets an HttpOnly, SameSite=Strict session cookie."""
    ttl = timedelta(minutes=settings.session_ttl_minutes)
    try:
        clinician, token = await login_clinician(
            session, email=body.email, password=body.password, ttl=ttl
        )
    except LoginFailed as error:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(error)) from None
    set_session_cookie(response, settings, CLINICIAN_COOKIE, token, int(ttl.total_seconds()))
    return ClinicianOut(id=clinician.id, email=clinician.email, display_name=clinician.display_name)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    response: Response,
    session: SessionDep,
    token: Annotated[str | None, Cookie(alias=CLINICIAN_COOKIE)] = None,
) -> None:
    """Sign out: the server-side session ends."""
    await end_session(session, token)
    response.delete_cookie(CLINICIAN_COOKIE, path="/", httponly=True, samesite="strict")


@router.get("/me")
async def me(principal: CurrentClinician, session: SessionDep) -> SignedInClinicianOut:
    """The signed-in clinician, and when the session ends."""
    clinician = await session.get(Clinician, principal.clinician_id)
    if clinician is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "please sign in")
    return SignedInClinicianOut(
        id=clinician.id,
        email=clinician.email,
        display_name=clinician.display_name,
        expires_at=await session_expires_at(session, principal),
    )


@router.post("/extend")
async def extend(
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Cookie(alias=CLINICIAN_COOKIE)] = None,
) -> SessionExpiryOut:
    """Stay signed in: the session ends one session lifetime from now."""
    ttl = timedelta(minutes=settings.session_ttl_minutes)
    expires_at = await extend_session(session, token, SessionKind.clinician, ttl)
    if expires_at is None or token is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "please sign in")
    # The cookie must outlive the old end too, or the browser drops it at that time.
    set_session_cookie(response, settings, CLINICIAN_COOKIE, token, int(ttl.total_seconds()))
    return SessionExpiryOut(expires_at=expires_at)
