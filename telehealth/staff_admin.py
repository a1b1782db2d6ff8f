"""What an admin (or the operator, from the command line) does to staff accounts.

Every change is audited with its actor. Disabling an account, resetting its password or
signing it out everywhere ends its open sessions too; the caller then tells the other
server processes (see telehealth/realtime/revocations.py) so open calls close at once.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.clinicians import find_by_email, normalise_email
from telehealth.password_policy import check_new_password
from telehealth.security import hash_password
from telehealth.storage.models import (
    Clinician,
    Passkey,
    RecoveryCode,
    Session,
    SessionKind,
    TotpFactor,
    utcnow,
)


class StaffNotFound(LookupError):
    """No staff account with that id or email."""


class RefusedOnOneself(PermissionError):
    """An admin may not lock themselves out (disable their own account)."""


async def list_staff(session: AsyncSession) -> list[Clinician]:
    rows = await session.execute(select(Clinician).order_by(Clinician.email).limit(5000))
    return list(rows.scalars())


async def get_staff(session: AsyncSession, clinician_id: str) -> Clinician:
    clinician = await session.get(Clinician, clinician_id)
    if clinician is None:
        raise StaffNotFound("no staff account with that id")
    return clinician


async def get_staff_by_email(session: AsyncSession, email: str) -> Clinician:
    try:
        clinician = await find_by_email(session, normalise_email(email))
    except ValueError:
        clinician = None
    if clinician is None:
        raise StaffNotFound(f"no staff account with email {email.strip().lower()}")
    return clinician


def _record(session: AsyncSession, actor: audit.Actor, action: str, target: Clinician) -> None:
    audit.record(
        session,
        actor_type=actor.type,
        actor_id=actor.id,
        action=action,
        detail={"clinician_id": target.id},
    )


async def end_all_sessions(session: AsyncSession, clinician_id: str) -> int:
    """Revoke every open session of the account; how many there were."""
    result = await session.execute(
        update(Session)
        .where(
            Session.clinician_id == clinician_id,
            Session.kind == SessionKind.clinician.value,
            Session.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def set_active(
    session: AsyncSession, target: Clinician, *, active: bool, actor: audit.Actor
) -> None:
    if not active and actor.id == target.id:
        raise RefusedOnOneself("you cannot disable your own account")
    target.is_active = active
    if not active:
        await end_all_sessions(session, target.id)
    _record(session, actor, "staff.enabled" if active else "staff.disabled", target)


async def revoke_sessions(session: AsyncSession, target: Clinician, *, actor: audit.Actor) -> int:
    ended = await end_all_sessions(session, target.id)
    _record(session, actor, "staff.sessions_revoked", target)
    return ended


async def reset_second_factor(
    session: AsyncSession, target: Clinician, *, actor: audit.Actor
) -> None:
    """Remove the account's TOTP key, recovery codes and passkeys; it sets up anew at its
    next sign-in. Its sessions end: they were proved with the factor now gone."""
    for table in (TotpFactor, RecoveryCode, Passkey):
        await session.execute(delete(table).where(table.clinician_id == target.id))
    await end_all_sessions(session, target.id)
    _record(session, actor, "staff.mfa_reset", target)


async def reset_password(
    session: AsyncSession, target: Clinician, password: str, *, actor: audit.Actor
) -> None:
    """Give the account a temporary password that its next sign-in must change."""
    check_new_password(password, user_inputs=[target.email, target.display_name])
    target.password_hash = hash_password(password)
    target.must_change_password = True
    await end_all_sessions(session, target.id)
    _record(session, actor, "staff.password_reset", target)


def checked_password_hash(clinician: Clinician, password: str) -> str:
    """The hash of a new password for `clinician`; WeakPassword if it would not do. CPU
    work (zxcvbn, argon2): a request runs it in a worker thread."""
    check_new_password(password, user_inputs=[clinician.email, clinician.display_name])
    return hash_password(password)


def change_own_password(session: AsyncSession, clinician: Clinician, password_hash: str) -> None:
    """The account's own new password (after a temporary one), from checked_password_hash."""
    clinician.password_hash = password_hash
    clinician.must_change_password = False
    audit.record(
        session,
        actor_type="clinician",
        actor_id=clinician.id,
        action="password.changed",
    )
