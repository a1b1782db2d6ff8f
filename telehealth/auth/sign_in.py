"""Staff sign-in: throttled, password checked off the event loop, every outcome audited.

Audit rows are written in transactions of their own: a failed sign-in answers with an error,
and whatever the request's own transaction held is rolled back with it; the record of the
failure must survive that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.auth.login_throttle import Failure, LoginThrottle
from telehealth.auth.password_checks import PasswordChecks
from telehealth.auth.second_factor import SecondFactorKeys, second_factor_kinds
from telehealth.auth.sessions import (
    LoginFailed,
    StaffSessionLimits,
    open_staff_session,
    revoke_session,
)
from telehealth.clinicians import count_clinicians, find_by_email, normalise_email
from telehealth.storage import Database
from telehealth.storage.models import Clinician, SessionStage


class SignInThrottled(Exception):
    """Too many recent failures for this account or address; try again later."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class NoStaffAccount(Exception):
    """No staff account exists yet: an operator creates the first one on the server."""


@dataclass(frozen=True, slots=True)
class SignInGuards:
    throttle: LoginThrottle
    passwords: PasswordChecks
    factors: SecondFactorKeys
    # Whether an account without a second factor must set one up before anything else.
    require_second_factor: bool


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session; at `signed_in`, or waiting for the second factor or its setup."""

    clinician: Clinician
    token: str
    stage: SessionStage = SessionStage.signed_in
    # The second factors the account has (which the sign-in page offers for the next step).
    second_factors: list[str] = field(default_factory=list)


async def sign_in(
    database: Database,
    guards: SignInGuards,
    *,
    email: str,
    password: str,
    address: str,
    previous_token: str | None,
    limits: StaffSessionLimits,
) -> SignedIn:
    """Check the password and open a new staff session (a new id, whatever came before):
    signed in, or only half way when a second factor is due (or must first be set up).

    Raises SignInThrottled before looking at the password, so a right password does not get
    through a lockout either; LoginFailed for a wrong email or password, alike.
    """
    wait = await guards.throttle.retry_after(email, address)
    if wait is not None:
        raise SignInThrottled(wait)
    found = await _find(database, email)
    clinician = await _matching(guards.passwords, found, password)
    if clinician is None:
        failure = await guards.throttle.failed(email, address)
        await audit_sign_in_failure(database, found, address, failure)
        raise LoginFailed("the email or password is wrong")
    async with database.session() as session:
        stage, kinds = await _stage_after_password(session, guards, clinician)
        # A session id from before sign-in (fixation) is never carried on.
        await revoke_session(session, previous_token)
        token = open_staff_session(session, clinician, limits, stage)
        detail = {"address": address}
        if stage != SessionStage.signed_in:
            detail["next"] = stage.value
        audit.record(
            session,
            actor_type="clinician",
            actor_id=clinician.id,
            action="login" if stage == SessionStage.signed_in else "login.password",
            detail=detail,
        )
    # Failures are forgiven only once the whole sign-in is done: a password alone must not
    # reset the count of wrong second-factor codes.
    if stage == SessionStage.signed_in:
        await guards.throttle.succeeded(email)
    return SignedIn(clinician, token, stage, kinds)


async def _stage_after_password(
    session: AsyncSession, guards: SignInGuards, clinician: Clinician
) -> tuple[SessionStage, list[str]]:
    # A password an admin chose is known to two people: it is changed before anything else.
    if clinician.must_change_password:
        return SessionStage.change_password, []
    return await stage_after_own_password(session, guards, clinician)


async def stage_after_own_password(
    session: AsyncSession, guards: SignInGuards, clinician: Clinician
) -> tuple[SessionStage, list[str]]:
    """Where a sign-in stands once the account's own password is proved."""
    kinds = await second_factor_kinds(session, clinician.id)
    if kinds:
        return SessionStage.second_factor, kinds
    stage = SessionStage.enroll if guards.require_second_factor else SessionStage.signed_in
    return stage, kinds


async def _find(database: Database, email: str) -> Clinician | None:
    async with database.session() as session:
        try:
            clinician = await find_by_email(session, normalise_email(email))
        except ValueError:
            clinician = None
        if clinician is None and await count_clinicians(session) == 0:
            raise NoStaffAccount(
                "no staff account exists yet; an administrator creates the first one with "
                "`telehealth admin create` or `telehealth clinician create` on the server"
            )
        return clinician


async def _matching(
    passwords: PasswordChecks, clinician: Clinician | None, password: str
) -> Clinician | None:
    """The account if it is active and the password is its own; an unknown or inactive
    account costs a full check too, so timing does not tell which emails exist."""
    if clinician is None or not clinician.is_active:
        await passwords.spend(password)
        return None
    return clinician if await passwords.verify(clinician.password_hash, password) else None


def _reason(clinician: Clinician | None) -> str:  # a wrong password's reason
    if clinician is None:
        return "unknown_account"
    return "inactive" if not clinician.is_active else "wrong_password"


async def audit_sign_in_failure(
    database: Database,
    clinician: Clinician | None,
    address: str,
    failure: Failure,
    reason: str | None = None,
) -> None:
    actor_id = clinician.id if clinician is not None else None
    async with database.session() as session:
        audit.record(
            session,
            actor_type="clinician",
            actor_id=actor_id,
            action="login.failed",
            detail={"reason": reason or _reason(clinician), "address": address},
            client_address=address,
            outcome="denied",
        )
        for scope, locked in (
            ("account", failure.account_locked),
            ("address", failure.address_locked),
        ):
            if locked:
                audit.record(
                    session,
                    actor_type="clinician",
                    actor_id=actor_id,
                    action="login.locked",
                    detail={"scope": scope, "address": address},
                    client_address=address,
                    outcome="denied",
                )
