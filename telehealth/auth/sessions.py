"""Server-side sessions: the cookie holds a random token, the database only its hash.

A staff session ends at the earliest of three times: its lifetime (moved on by "stay signed
in"), its idle end (moved on by activity: sign-in, a change made, an open call, staying
signed in) and a cap fixed at sign-in that nothing moves. A deactivated account's sessions
stop admitting it at once. A patient session has a lifetime only; it ends with its visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.security import hash_token, new_token
from telehealth.settings import Settings
from telehealth.storage.models import (
    Clinician,
    Session,
    SessionKind,
    SessionStage,
    utcnow,
)

CLINICIAN_COOKIE = "th_clinician"
PATIENT_COOKIE = "th_patient"
SIGNED_IN = frozenset({SessionStage.signed_in})
# A session waiting for its second factor (or its enrollment) is short: it proves only a
# password.
HALF_SIGNED_IN_LIFETIME = timedelta(minutes=10)


class LoginFailed(PermissionError):
    """Wrong email or password (deliberately not saying which)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request or websocket."""

    kind: SessionKind
    session_hash: str
    session_id: str
    display_name: str
    clinician_id: str | None = None
    visit_id: str | None = None
    stage: SessionStage = SessionStage.signed_in


@dataclass(frozen=True, slots=True)
class StaffSessionLimits:
    """How long a staff session lasts: lifetime (renewable), idle time, cap from sign-in."""

    lifetime: timedelta
    idle: timedelta
    cap: timedelta

    @classmethod
    def same(cls, **duration: float) -> StaffSessionLimits:
        """Lifetime, idle time and cap all one duration (tools and benchmarks)."""
        length = timedelta(**duration)
        return cls(lifetime=length, idle=length, cap=length)

    @classmethod
    def of(cls, settings: Settings) -> StaffSessionLimits:
        return cls(
            lifetime=timedelta(minutes=settings.session_ttl_minutes),
            idle=timedelta(minutes=settings.staff_idle_timeout_minutes),
            cap=timedelta(hours=settings.session_max_hours),
        )


def open_staff_session(
    session: AsyncSession,
    clinician: Clinician,
    limits: StaffSessionLimits,
    stage: SessionStage = SessionStage.signed_in,
) -> str:
    now = utcnow()
    lifetime, idle, cap = limits.lifetime, limits.idle, limits.cap
    if stage != SessionStage.signed_in:
        lifetime = idle = cap = min(cap, HALF_SIGNED_IN_LIFETIME)
    token = new_token()
    session.add(
        Session(
            token_hash=hash_token(token),
            kind=SessionKind.clinician.value,
            stage=stage.value,
            clinician_id=clinician.id,
            display_name=clinician.display_name[:100],
            created_at=now,
            expires_at=min(now + lifetime, now + cap),
            last_active_at=now,
            idle_expires_at=min(now + idle, now + cap),
            max_expires_at=now + cap,
        )
    )
    return token


async def _live_row(
    session: AsyncSession,
    token: str | None,
    kind: SessionKind,
    now: datetime,
    stages: frozenset[SessionStage] = SIGNED_IN,
) -> Session | None:
    """The stored session of `token` if it is of `kind`, at one of `stages` (signed in,
    unless said otherwise), not revoked, not ended, and (staff) its account still active."""
    if not token:
        return None
    row = await session.get(Session, hash_token(token))
    if row is None or row.kind != kind.value or row.revoked_at is not None:
        return None
    if row.stage not in stages or row.ends_at() <= now:
        return None
    if kind == SessionKind.clinician:
        clinician = await session.get(Clinician, row.clinician_id)
        if clinician is None or not clinician.is_active:
            return None
    return row


def _mark_active(row: Session, idle: timedelta, now: datetime) -> None:
    if row.idle_expires_at is None:  # a patient session: no idle end
        return
    row.last_active_at = now
    end = now + idle
    row.idle_expires_at = min(end, row.max_expires_at) if row.max_expires_at else end


async def resolve(
    session: AsyncSession,
    token: str | None,
    kind: SessionKind,
    *,
    idle_after: timedelta | None = None,
    now: datetime | None = None,
    stages: frozenset[SessionStage] = SIGNED_IN,
) -> Principal | None:
    """Who `token` is, if its session is live. With `idle_after` this use counts as
    activity: a staff session then stays open until `idle_after` from now (within its cap).
    Only signed-in sessions count, unless `stages` says which others may."""
    now = now or utcnow()
    row = await _live_row(session, token, kind, now, stages)
    if row is None:
        return None
    if idle_after is not None:
        _mark_active(row, idle_after, now)
    if kind == SessionKind.patient:
        # The patient's audit events of this request are this session's.
        audit.note_patient_session(row.token_hash)
    return Principal(
        kind=kind,
        session_hash=row.token_hash,
        session_id=row.id,
        display_name=row.display_name,
        clinician_id=row.clinician_id,
        visit_id=row.visit_id,
        stage=SessionStage(row.stage),
    )


async def session_expires_at(session: AsyncSession, principal: Principal) -> datetime:
    """When the caller's session ends, idle end included (pages warn before it does)."""
    row = await session.get(Session, principal.session_hash)
    if row is None:
        raise LookupError("the session is gone")
    return row.ends_at()


async def extend_session(
    session: AsyncSession,
    token: str | None,
    kind: SessionKind,
    ttl: timedelta,
    *,
    idle: timedelta | None = None,
    now: datetime | None = None,
) -> datetime | None:
    """Move a live session's end to `now + ttl` (and a staff session's idle end to
    `now + idle`), never past its cap; None if there is no live session to extend.

    Never further than one ttl from now, so a session kept alive still ends soon after its
    user stops confirming they are there.
    """
    now = now or utcnow()
    row = await _live_row(session, token, kind, now)
    if row is None:
        return None
    end = now + ttl
    row.expires_at = min(end, row.max_expires_at) if row.max_expires_at else end
    if idle is not None:
        _mark_active(row, idle, now)
    actor: audit.ActorType = "clinician" if kind == SessionKind.clinician else "patient"
    audit.record(
        session,
        actor_type=actor,
        actor_id=row.clinician_id,
        action="session.extended",
        visit_id=row.visit_id,
    )
    return row.ends_at()


async def revoke_session(session: AsyncSession, token: str | None) -> bool:
    """End the session of `token` if it is still open; whether there was one to end."""
    if not token:
        return False
    row = await session.get(Session, hash_token(token))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True


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


async def live_staff_sessions(
    session: AsyncSession, clinician_id: str, *, now: datetime | None = None
) -> list[Session]:
    """A staff member's sessions that have not ended, newest first."""
    now = now or utcnow()
    rows = await session.execute(
        select(Session)
        .where(
            Session.clinician_id == clinician_id,
            Session.kind == SessionKind.clinician.value,
            Session.revoked_at.is_(None),
            Session.expires_at > now,
        )
        .order_by(Session.created_at.desc())
        # A bound: a person has a handful of devices, not thousands of live sessions.
        .limit(200)
    )
    return [row for row in rows.scalars() if row.ends_at() > now]


async def end_staff_session(session: AsyncSession, owner: Principal, session_id: str) -> bool:
    """End one of `owner`'s own sessions by its public id; False if they have none such."""
    row = (
        await session.execute(
            select(Session).where(
                Session.id == session_id,
                Session.clinician_id == owner.clinician_id,
                Session.kind == SessionKind.clinician.value,
                Session.revoked_at.is_(None),
            )
        )
    ).scalar_one_or_none()
    if row is None:
        return False
    row.revoked_at = utcnow()
    audit.record(
        session,
        actor_type="clinician",
        actor_id=owner.clinician_id,
        action="session.ended",
        detail={"session_id": row.id, "by_session_id": owner.session_id},
    )
    return True
