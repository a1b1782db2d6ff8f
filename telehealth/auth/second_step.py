"""The step after the password: a second-factor code, or the setup of a second factor.

Either ends with a new session id at `signed_in`, and the half-signed-in session revoked
(conditionally, so two requests racing with one half session cannot both get through).
A wrong code counts against the account and address like a wrong password, and is audited
in a transaction of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.auth.passkeys import RelyingParty, accept_passkey
from telehealth.auth.second_factor import (
    CodeRefused,
    SecondFactorMethod,
    accept_second_factor,
    confirm_totp_enrollment,
)
from telehealth.auth.sessions import Principal, StaffSessionLimits, open_staff_session
from telehealth.auth.sign_in import (
    SignedIn,
    SignInGuards,
    SignInThrottled,
    audit_sign_in_failure,
)
from telehealth.storage import Database
from telehealth.storage.models import Clinician, Session, utcnow


@dataclass(frozen=True, slots=True)
class SecondFactorProof:
    """A code (TOTP or recovery), or a passkey's signed answer (WebAuthn JSON)."""

    code: str | None = None
    passkey: dict[str, Any] | None = None
    relying_party: RelyingParty | None = None


class HalfSessionGone(Exception):
    """The session waiting for this step ended meanwhile: sign in again."""


@dataclass(frozen=True, slots=True)
class Enrolled:
    recovery_codes: list[str]
    # A new signed-in session, when the setup was the step the sign-in was waiting for.
    signed_in: SignedIn | None


async def finish_sign_in(
    database: Database,
    guards: SignInGuards,
    half: Principal,
    *,
    proof: SecondFactorProof,
    address: str,
    limits: StaffSessionLimits,
    at: datetime,
) -> SignedIn:
    """Complete a sign-in waiting for its second factor with a TOTP or recovery code, or a
    passkey's answer to the challenge this session was given."""
    clinician = await _clinician(database, half)
    wait = await guards.throttle.retry_after(clinician.email, address)
    if wait is not None:
        raise SignInThrottled(wait)
    async with database.session() as session:
        method = await _proven(session, guards, half, clinician.id, proof, at)
        token = None
        if method is not None:
            token = await _promote(session, half, clinician, limits)
            _audit_login(session, clinician, address, method)
    if token is None:
        failure = await guards.throttle.failed(clinician.email, address)
        reason = "wrong_code" if proof.code is not None else "wrong_passkey"
        await audit_sign_in_failure(database, clinician, address, failure, reason=reason)
        raise CodeRefused("the code or passkey is not right, or was used already")
    await guards.throttle.succeeded(clinician.email)
    return SignedIn(clinician, token)


async def finish_enrollment(
    database: Database,
    guards: SignInGuards,
    principal: Principal,
    *,
    code: str,
    address: str,
    limits: StaffSessionLimits,
    at: datetime,
) -> Enrolled:
    """Confirm a TOTP setup with its first code; if the sign-in was waiting for it, the
    sign-in completes too."""
    clinician = await _clinician(database, principal)
    async with database.session() as session:
        codes = await confirm_totp_enrollment(session, guards.factors, clinician.id, code, at)
        audit.record(
            session, actor_type="clinician", actor_id=clinician.id, action="mfa.totp_enrolled"
        )
        token = None
        if principal.stage != "signed_in":
            token = await _promote(session, principal, clinician, limits)
            _audit_login(session, clinician, address, "totp")
    if token is None:
        return Enrolled(codes, None)
    await guards.throttle.succeeded(clinician.email)
    return Enrolled(codes, SignedIn(clinician, token))


async def _proven(
    session: AsyncSession,
    guards: SignInGuards,
    half: Principal,
    clinician_id: str,
    proof: SecondFactorProof,
    at: datetime,
) -> SecondFactorMethod | None:
    if proof.code is not None:
        return await accept_second_factor(session, guards.factors, clinician_id, proof.code, at)
    if proof.passkey is not None and proof.relying_party is not None:
        accepted = await accept_passkey(
            session, proof.relying_party, half.session_hash, clinician_id, proof.passkey, at
        )
        return "passkey" if accepted else None
    return None


async def _clinician(database: Database, principal: Principal) -> Clinician:
    async with database.session() as session:
        clinician = await session.get(Clinician, principal.clinician_id)
    if clinician is None:
        raise HalfSessionGone("please sign in again")
    return clinician


async def _promote(
    session: AsyncSession, half: Principal, clinician: Clinician, limits: StaffSessionLimits
) -> str:
    ended = await session.execute(
        update(Session)
        .where(Session.token_hash == half.session_hash, Session.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if ended.rowcount != 1:  # type: ignore[attr-defined]
        raise HalfSessionGone("please sign in again")
    return open_staff_session(session, clinician, limits)


def _audit_login(session: AsyncSession, clinician: Clinician, address: str, method: str) -> None:
    audit.record(
        session,
        actor_type="clinician",
        actor_id=clinician.id,
        action="login",
        detail={"address": address, "second_factor": method},
    )
