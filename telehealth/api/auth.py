"""Staff sign in, sign out, staying signed in, and the list of one's own sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Cookie, HTTPException, Response, status
from pydantic import BaseModel

from telehealth.api.schemas import ClinicianOut, LoginRequest
from telehealth.auth.deps import CurrentClinician
from telehealth.auth.login_throttle import ThrottleUnavailable
from telehealth.auth.password_checks import PasswordChecksBusy
from telehealth.auth.sessions import (
    CLINICIAN_COOKIE,
    HALF_SIGNED_IN_LIFETIME,
    LoginFailed,
    StaffSessionLimits,
    end_session,
    end_staff_session,
    extend_session,
    live_staff_sessions,
    session_expires_at,
)
from telehealth.auth.sign_in import NoStaffAccount, SignedIn, SignInThrottled, sign_in
from telehealth.deps import ClientAddressDep, ServicesDep, SessionDep, SettingsDep
from telehealth.settings import Settings
from telehealth.storage.models import Clinician, SessionKind, SessionStage

router = APIRouter(prefix="/api/auth", tags=["auth"])
# How long a client should wait when sign-in is briefly unavailable (busy, no Redis).
BUSY_RETRY_AFTER_S = 5


class SecondFactorDueOut(BaseModel):
    """The password was right; a second-factor code is due (or its setup, `enroll`)."""

    mfa_required: bool = True
    enroll: bool = False
    # What the account has set up: "totp" (codes; recovery codes too), "passkey".
    methods: list[str] = []


class PasswordChangeDueOut(BaseModel):
    """The password was a temporary one: POST /api/auth/password with a new one is next."""

    password_change_required: bool = True


class SessionExpiryOut(BaseModel):
    """When a session ends unless its user extends it (ISO 8601, UTC)."""

    expires_at: datetime


class SignedInClinicianOut(ClinicianOut):
    expires_at: datetime


class StaffSessionOut(BaseModel):
    id: str
    created_at: datetime
    last_active_at: datetime | None
    expires_at: datetime
    current: bool


class StaffSessionsOut(BaseModel):
    sessions: list[StaffSessionOut]


class EndedSessionsOut(BaseModel):
    ended: int


def throttled_error(throttled: SignInThrottled) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        "too many failed sign-ins; wait a while and try again",
        headers={"Retry-After": str(throttled.retry_after_s)},
    )


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
        secure=settings.serves_https,
    )


@router.post("/login")
async def login(
    body: LoginRequest,
    response: Response,
    services: ServicesDep,
    address: ClientAddressDep,
    previous: Annotated[str | None, Cookie(alias=CLINICIAN_COOKIE)] = None,
) -> ClinicianOut | SecondFactorDueOut | PasswordChangeDueOut:
    """Sign in; sets a new HttpOnly, SameSite=Strict session cookie (only half signed in
    when a second factor is due)."""
    settings = services.settings
    limits = StaffSessionLimits.of(settings)
    try:
        signed_in = await sign_in(
            services.database,
            services.sign_in,
            email=body.email,
            password=body.password,
            address=address,
            previous_token=previous,
            limits=limits,
        )
    except SignInThrottled as throttled:
        raise throttled_error(throttled) from None
    except LoginFailed as error:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(error)) from None
    except NoStaffAccount as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None
    except (PasswordChecksBusy, ThrottleUnavailable):
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "sign-in is busy; try again in a few seconds",
            headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
        ) from None
    return signed_in_or_next_step(response, settings, signed_in)


def signed_in_or_next_step(
    response: Response, settings: Settings, signed_in: SignedIn
) -> ClinicianOut | SecondFactorDueOut | PasswordChangeDueOut:
    """Hand the browser its new session: signed in, or what it must do next."""
    if signed_in.stage == SessionStage.signed_in:
        return set_signed_in(response, settings, signed_in)
    max_age = int(HALF_SIGNED_IN_LIFETIME.total_seconds())
    set_session_cookie(response, settings, CLINICIAN_COOKIE, signed_in.token, max_age)
    if signed_in.stage == SessionStage.change_password:
        return PasswordChangeDueOut()
    return SecondFactorDueOut(
        enroll=signed_in.stage == SessionStage.enroll, methods=signed_in.second_factors
    )


def set_signed_in(response: Response, settings: Settings, signed_in: SignedIn) -> ClinicianOut:
    """Hand the browser its new signed-in session; who it is."""
    limits = StaffSessionLimits.of(settings)
    max_age = int(min(limits.lifetime, limits.cap).total_seconds())
    set_session_cookie(response, settings, CLINICIAN_COOKIE, signed_in.token, max_age)
    clinician = signed_in.clinician
    return ClinicianOut(
        id=clinician.id,
        email=clinician.email,
        display_name=clinician.display_name,
        role=clinician.role,
    )


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
    """The signed-in clinician, and when the session ends (the idle end, if sooner)."""
    clinician = await session.get(Clinician, principal.clinician_id)
    if clinician is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "please sign in")
    return SignedInClinicianOut(
        id=clinician.id,
        email=clinician.email,
        display_name=clinician.display_name,
        role=clinician.role,
        expires_at=await session_expires_at(session, principal),
    )


@router.post("/extend")
async def extend(
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Cookie(alias=CLINICIAN_COOKIE)] = None,
) -> SessionExpiryOut:
    """Stay signed in: the session goes on, never past its cap from sign-in."""
    limits = StaffSessionLimits.of(settings)
    expires_at = await extend_session(
        session, token, SessionKind.clinician, limits.lifetime, idle=limits.idle
    )
    if expires_at is None or token is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "please sign in")
    # The cookie must outlive the old end too, or the browser drops it at that time.
    max_age = int(min(limits.lifetime, limits.cap).total_seconds())
    set_session_cookie(response, settings, CLINICIAN_COOKIE, token, max_age)
    return SessionExpiryOut(expires_at=expires_at)


@router.get("/sessions")
async def my_sessions(principal: CurrentClinician, session: SessionDep) -> StaffSessionsOut:
    """The caller's own sessions that are still open (this one marked `current`)."""
    assert principal.clinician_id is not None
    rows = await live_staff_sessions(session, principal.clinician_id)
    return StaffSessionsOut(
        sessions=[
            StaffSessionOut(
                id=row.id,
                created_at=row.created_at,
                last_active_at=row.last_active_at,
                expires_at=row.ends_at(),
                current=row.id == principal.session_id,
            )
            for row in rows
        ]
    )


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def end_one_session(
    session_id: str, principal: CurrentClinician, session: SessionDep
) -> None:
    """End one of the caller's own sessions (e.g. a forgotten browser elsewhere)."""
    if not await end_staff_session(session, principal, session_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "you have no open session with that id")


@router.delete("/sessions")
async def end_other_sessions(principal: CurrentClinician, session: SessionDep) -> EndedSessionsOut:
    """End all of the caller's sessions except this one."""
    assert principal.clinician_id is not None
    ended = 0
    for row in await live_staff_sessions(session, principal.clinician_id):
        if row.id != principal.session_id:
            ended += await end_staff_session(session, principal, row.id)
    return EndedSessionsOut(ended=ended)
