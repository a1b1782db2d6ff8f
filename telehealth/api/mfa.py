"""The second factor: setting up TOTP (with recovery codes) and the code step of sign-in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field

from telehealth.api.auth import BUSY_RETRY_AFTER_S, set_signed_in, throttled_error
from telehealth.api.schemas import ClinicianOut
from telehealth.auth.deps import EnrollingClinician, HalfSignedIn
from telehealth.auth.login_throttle import ThrottleUnavailable
from telehealth.auth.passkeys import RelyingParty
from telehealth.auth.second_factor import (
    CodeRefused,
    NoEnrollmentStarted,
    SecondFactorExists,
    second_factor_status,
    start_totp_enrollment,
)
from telehealth.auth.second_step import (
    HalfSessionGone,
    SecondFactorProof,
    finish_enrollment,
    finish_sign_in,
)
from telehealth.auth.sessions import StaffSessionLimits
from telehealth.auth.sign_in import SignInThrottled
from telehealth.auth.totp import TotpKeyUnreadable
from telehealth.deps import ClientAddressDep, NowDep, ServicesDep, SessionDep
from telehealth.storage.models import SessionStage

router = APIRouter(prefix="/api/auth/mfa", tags=["auth"])


class CodeIn(BaseModel):
    # A six-digit TOTP code or a recovery code ("ABCDE-FGHJK"), spaces allowed.
    code: str = Field(min_length=1, max_length=64)


class SecondFactorIn(BaseModel):
    """One of: a code, or a passkey's answer (the WebAuthn credential as JSON)."""

    code: str | None = Field(default=None, min_length=1, max_length=64)
    passkey: dict[str, Any] | None = None


class SecondFactorOut(BaseModel):
    totp: bool
    recovery_codes_left: int
    passkeys: int
    # Signed in by password only: setting up a second factor is all this session may do.
    enrollment_required: bool


class TotpEnrollmentOut(BaseModel):
    otpauth_uri: str
    secret: str
    qr_svg: str


class EnrolledOut(BaseModel):
    recovery_codes: list[str]
    # Set when this setup was the last step of a sign-in (the session is now signed in).
    signed_in: ClinicianOut | None


def _busy() -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        "sign-in is busy; try again in a few seconds",
        headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
    )


def _key_unreadable() -> HTTPException:
    # The server secret changed since the key was stored: only an administrator can help.
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        "your second factor cannot be checked on this server; ask an administrator",
    )


@router.get("")
async def my_second_factor(principal: EnrollingClinician, session: SessionDep) -> SecondFactorOut:
    """Which second factor the caller has, and how many recovery codes are left."""
    assert principal.clinician_id is not None
    found = await second_factor_status(session, principal.clinician_id)
    return SecondFactorOut(
        totp=found.totp,
        recovery_codes_left=found.recovery_codes_left,
        passkeys=found.passkeys,
        enrollment_required=principal.stage == SessionStage.enroll,
    )


@router.post("/totp")
async def start_totp(
    principal: EnrollingClinician, session: SessionDep, services: ServicesDep
) -> TotpEnrollmentOut:
    """Start setting up an authenticator app: its key as a URI, a QR code and text."""
    assert principal.clinician_id is not None
    try:
        enrollment = await start_totp_enrollment(
            session, services.sign_in.factors, principal.clinician_id
        )
    except SecondFactorExists as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    return TotpEnrollmentOut(
        otpauth_uri=enrollment.otpauth_uri, secret=enrollment.secret, qr_svg=enrollment.qr_svg
    )


@router.post("/totp/confirm")
async def confirm_totp(
    body: CodeIn,
    response: Response,
    principal: EnrollingClinician,
    services: ServicesDep,
    address: ClientAddressDep,
    now: NowDep,
) -> EnrolledOut:
    """Finish the setup with a first code; the recovery codes are shown this once."""
    try:
        enrolled = await finish_enrollment(
            services.database,
            services.sign_in,
            principal,
            code=body.code,
            address=address,
            limits=StaffSessionLimits.of(services.settings),
            at=now,
        )
    except CodeRefused as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    except NoEnrollmentStarted as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except HalfSessionGone as error:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(error)) from None
    except ThrottleUnavailable:
        raise _busy() from None
    except TotpKeyUnreadable:
        raise _key_unreadable() from None
    signed_in = None
    if enrolled.signed_in is not None:
        signed_in = set_signed_in(response, services.settings, enrolled.signed_in)
    return EnrolledOut(recovery_codes=enrolled.recovery_codes, signed_in=signed_in)


@router.post("/verify")
async def verify(
    body: SecondFactorIn,
    response: Response,
    half: HalfSignedIn,
    services: ServicesDep,
    address: ClientAddressDep,
    now: NowDep,
) -> ClinicianOut:
    """The second step of sign-in: a code from the authenticator app, a recovery code, or a
    passkey."""
    if (body.code is None) == (body.passkey is None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "send a code or a passkey")
    proof = SecondFactorProof(
        code=body.code, passkey=body.passkey, relying_party=RelyingParty.of(services.settings)
    )
    try:
        signed_in = await finish_sign_in(
            services.database,
            services.sign_in,
            half,
            proof=proof,
            address=address,
            limits=StaffSessionLimits.of(services.settings),
            at=now,
        )
    except SignInThrottled as throttled:
        raise throttled_error(throttled) from None
    except (CodeRefused, HalfSessionGone) as error:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(error)) from None
    except ThrottleUnavailable:
        raise _busy() from None
    except TotpKeyUnreadable:
        raise _key_unreadable() from None
    return set_signed_in(response, services.settings, signed_in)
