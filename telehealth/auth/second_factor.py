"""A staff account's second factor: setting up TOTP, its recovery codes, checking a code.

Every acceptance is a conditional UPDATE (the TOTP step only moves forward, a recovery code
is used only while unused), so a code replayed, even at the same instant from two browsers,
is accepted once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.auth import recovery_codes
from telehealth.auth.passkeys import has_passkey
from telehealth.auth.totp import TotpEnrollment, TotpKeyBox, matching_step, new_enrollment
from telehealth.storage.models import Clinician, Passkey, RecoveryCode, TotpFactor, utcnow

SecondFactorMethod = Literal["totp", "recovery_code", "passkey"]


class SecondFactorExists(Exception):
    """The account already has a second factor; it is reset by an administrator."""


class NoEnrollmentStarted(Exception):
    """There is no TOTP key waiting for its first code: start the setup again."""


class CodeRefused(Exception):
    """The code is not the current one (or was used already)."""


@dataclass(frozen=True, slots=True)
class SecondFactorKeys:
    """The server-held keys: the TOTP keys' encryption and the recovery codes' hash key."""

    box: TotpKeyBox
    server_secret: str

    @classmethod
    def of(cls, server_secret: str) -> SecondFactorKeys:
        return cls(TotpKeyBox(server_secret), server_secret)


@dataclass(frozen=True, slots=True)
class SecondFactorStatus:
    totp: bool
    recovery_codes_left: int
    passkeys: int


async def _confirmed_totp(session: AsyncSession, clinician_id: str) -> TotpFactor | None:
    row = await session.get(TotpFactor, clinician_id)
    return row if row is not None and row.confirmed_at is not None else None


async def second_factor_kinds(session: AsyncSession, clinician_id: str) -> list[str]:
    """Which second factors the account has: "totp", "passkey", both or none."""
    kinds = []
    if await _confirmed_totp(session, clinician_id) is not None:
        kinds.append("totp")
    if await has_passkey(session, clinician_id):
        kinds.append("passkey")
    return kinds


async def second_factor_status(session: AsyncSession, clinician_id: str) -> SecondFactorStatus:
    left = await session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.clinician_id == clinician_id, RecoveryCode.used_at.is_(None))
    )
    passkeys = await session.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.clinician_id == clinician_id)
    )
    totp = await _confirmed_totp(session, clinician_id) is not None
    return SecondFactorStatus(totp, int(left or 0), int(passkeys or 0))


async def start_totp_enrollment(
    session: AsyncSession, keys: SecondFactorKeys, clinician_id: str
) -> TotpEnrollment:
    """A new key, not yet usable (until its first code confirms it); a setup started
    earlier and never confirmed is replaced."""
    clinician = await session.get(Clinician, clinician_id)
    if clinician is None:
        raise LookupError("the account is gone")
    row = await session.get(TotpFactor, clinician.id)
    if row is not None and row.confirmed_at is not None:
        raise SecondFactorExists("a second factor is already set up for this account")
    enrollment = new_enrollment(clinician.email)
    sealed = keys.box.seal(clinician.id, enrollment.secret)
    if row is None:
        session.add(TotpFactor(clinician_id=clinician.id, secret_encrypted=sealed))
    else:
        row.secret_encrypted, row.created_at, row.last_used_step = sealed, utcnow(), None
    return enrollment


async def confirm_totp_enrollment(
    session: AsyncSession, keys: SecondFactorKeys, clinician_id: str, code: str, at: datetime
) -> list[str]:
    """Make the key usable once a code from it is right; ten new recovery codes, to be
    shown once (any earlier ones stop working)."""
    row = await session.get(TotpFactor, clinician_id)
    if row is None or row.confirmed_at is not None:
        raise NoEnrollmentStarted("start setting up the authenticator app first")
    step = matching_step(keys.box.open(clinician_id, row.secret_encrypted), code, at)
    if step is None:
        raise CodeRefused("the code is not right")
    row.confirmed_at, row.last_used_step = at, step
    await session.execute(delete(RecoveryCode).where(RecoveryCode.clinician_id == clinician_id))
    codes = recovery_codes.new_codes()
    for code_text in codes:
        session.add(
            RecoveryCode(
                clinician_id=clinician_id,
                code_hash=recovery_codes.code_hash(keys.server_secret, code_text),
            )
        )
    return codes


async def accept_second_factor(
    session: AsyncSession, keys: SecondFactorKeys, clinician_id: str, code: str, at: datetime
) -> SecondFactorMethod | None:
    """Which factor `code` proves (and uses it up), or None if it proves none."""
    factor = await _confirmed_totp(session, clinician_id)
    if factor is None:
        return None
    step = matching_step(keys.box.open(clinician_id, factor.secret_encrypted), code, at)
    if step is not None:
        moved = await session.execute(
            update(TotpFactor)
            .where(
                TotpFactor.clinician_id == clinician_id,
                or_(TotpFactor.last_used_step.is_(None), TotpFactor.last_used_step < step),
            )
            .values(last_used_step=step)
            .execution_options(synchronize_session=False)
        )
        return "totp" if _changed_one(moved) else None
    if not recovery_codes.looks_like_recovery_code(code):
        return None
    used = await session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.clinician_id == clinician_id,
            RecoveryCode.code_hash == recovery_codes.code_hash(keys.server_secret, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=at)
        .execution_options(synchronize_session=False)
    )
    return "recovery_code" if _changed_one(used) else None


def _changed_one(result: Any) -> bool:
    return bool(result.rowcount == 1)
