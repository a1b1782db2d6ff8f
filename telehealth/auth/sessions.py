"""Server-side sessions: the cookie holds a random token, the database only its hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.clinicians import find_by_email, normalise_email
from telehealth.security import hash_token, new_token, spend_password_check, verify_password
from telehealth.storage.models import Clinician, Session, SessionKind, Visit, utcnow
from telehealth.visits.service import redeem_invite

CLINICIAN_COOKIE = "th_clinician"
PATIENT_COOKIE = "th_patient"


class LoginFailed(PermissionError):
    """Wrong email or password (deliberately not saying which)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request or websocket."""

    kind: SessionKind
    session_hash: str
    display_name: str
    clinician_id: str | None = None
    visit_id: str | None = None


async def login_clinician(
    session: AsyncSession, *, email: str, password: str, ttl: timedelta
) -> tuple[Clinician, str]:
    try:
        clinician = await find_by_email(session, normalise_email(email))
    except ValueError:
        clinician = None
    if clinician is None or not clinician.is_active:
        spend_password_check(password)
        raise LoginFailed("the email or password is wrong")
    if not verify_password(clinician.password_hash, password):
        audit.record(session, actor_type="clinician", actor_id=clinician.id, action="login.failed")
        raise LoginFailed("the email or password is wrong")
    token = _open(
        session,
        SessionKind.clinician,
        ttl,
        clinician_id=clinician.id,
        display_name=clinician.display_name,
    )
    audit.record(session, actor_type="clinician", actor_id=clinician.id, action="login")
    return clinician, token


async def open_patient_session(
    session: AsyncSession, *, invite_token: str, display_name: str, ttl: timedelta
) -> tuple[Visit, str]:
    visit = await redeem_invite(session, invite_token)
    token = _open(session, SessionKind.patient, ttl, visit_id=visit.id, display_name=display_name)
    audit.record(
        session, actor_type="patient", actor_id=None, action="invite.opened", visit_id=visit.id
    )
    return visit, token


def _open(
    session: AsyncSession,
    kind: SessionKind,
    ttl: timedelta,
    *,
    display_name: str,
    clinician_id: str | None = None,
    visit_id: str | None = None,
) -> str:
    token = new_token()
    session.add(
        Session(
            token_hash=hash_token(token),
            kind=kind.value,
            clinician_id=clinician_id,
            visit_id=visit_id,
            display_name=display_name,
            expires_at=utcnow() + ttl,
        )
    )
    return token


async def _live_row(
    session: AsyncSession, token: str | None, kind: SessionKind, now: datetime
) -> Session | None:
    """The stored session of `token` if it is of `kind`, not revoked and not expired."""
    if not token:
        return None
    row = await session.get(Session, hash_token(token))
    if row is None or row.kind != kind.value or row.revoked_at is not None:
        return None
    return row if row.expires_at > now else None


async def resolve(
    session: AsyncSession, token: str | None, kind: SessionKind, *, now: datetime | None = None
) -> Principal | None:
    row = await _live_row(session, token, kind, now or utcnow())
    if row is None:
        return None
    return Principal(
        kind=kind,
        session_hash=row.token_hash,
        display_name=row.display_name,
        clinician_id=row.clinician_id,
        visit_id=row.visit_id,
    )


async def session_expires_at(session: AsyncSession, principal: Principal) -> datetime:
    """When the caller's session ends (pages warn before it does)."""
    row = await session.get(Session, principal.session_hash)
    if row is None:
        raise LookupError("the session is gone")
    return row.expires_at


async def extend_session(
    session: AsyncSession,
    token: str | None,
    kind: SessionKind,
    ttl: timedelta,
    *,
    now: datetime | None = None,
) -> datetime | None:
    """Move a live session's end to `now + ttl`; None if there is no live session to extend.

    Never further than one ttl from now, so a session kept alive still ends soon after its
    user stops confirming they are there.
    """
    now = now or utcnow()
    row = await _live_row(session, token, kind, now)
    if row is None:
        return None
    row.expires_at = now + ttl
    actor: audit.ActorType = "clinician" if kind == SessionKind.clinician else "patient"
    audit.record(
        session,
        actor_type=actor,
        actor_id=row.clinician_id,
        action="session.extended",
        visit_id=row.visit_id,
    )
    return row.expires_at


async def end_session(session: AsyncSession, token: str | None) -> None:
    if not token:
        return
    row = await session.get(Session, hash_token(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        actor: audit.ActorType = "clinician" if row.kind == SessionKind.clinician else "patient"
        audit.record(
            session,
            actor_type=actor,
            actor_id=row.clinician_id,
            action="logout",
            visit_id=row.visit_id,
        )
