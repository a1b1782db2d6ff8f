"""Visit operations. Route handlers call these; no queries live in routes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.security import hash_token, new_token
from telehealth.storage.models import Invite, Visit, VisitStatus, utcnow
from telehealth.visits.lifecycle import check_transition, is_open
from telehealth.visits.patient_links import EndReason, end_patient_sessions, revoke_invites


class VisitNotFound(LookupError):
    """No such visit for this clinician."""


class InviteInvalid(PermissionError):
    """The invite token is unknown, expired, revoked, or its visit is closed."""


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    """An invite as created: the token is shown once and only its hash is stored."""

    visit_id: str
    token: str
    expires_at: datetime


def invite_url(public_base_url: str, token: str) -> str:
    # The token travels in the fragment, which browsers never send to a server:
    # it stays out of access logs, proxies and Referer headers.
    return f"{public_base_url}/join#invite={token}"


async def create_visit(
    session: AsyncSession,
    *,
    clinician_id: str,
    scheduled_at: datetime,
    patient_label: str = "",
    invite_ttl: timedelta,
) -> tuple[Visit, IssuedInvite]:
    if scheduled_at.tzinfo is None:
        raise ValueError("scheduled_at needs a timezone")
    visit = Visit(
        clinician_id=clinician_id,
        scheduled_at=scheduled_at.astimezone(UTC),
        patient_label=patient_label.strip(),
        status=VisitStatus.scheduled,
    )
    session.add(visit)
    await session.flush()
    invite = await issue_invite(session, visit, invite_ttl=invite_ttl)
    audit.record(
        session,
        actor_type="clinician",
        actor_id=clinician_id,
        action="visit.created",
        visit_id=visit.id,
    )
    return visit, invite


async def issue_invite(
    session: AsyncSession, visit: Visit, *, invite_ttl: timedelta
) -> IssuedInvite:
    token = new_token()
    expires_at = visit.scheduled_at + invite_ttl
    session.add(Invite(visit_id=visit.id, token_hash=hash_token(token), expires_at=expires_at))
    await session.flush()
    return IssuedInvite(visit_id=visit.id, token=token, expires_at=expires_at)


async def revoke_visit_invites(
    session: AsyncSession, visit: Visit, *, clinician_id: str | None
) -> list[str]:
    """Withdraw the visit's patient links and end the session opened with one; the token
    hashes of the sessions ended (their websockets are to be closed)."""
    revoked = await revoke_invites(session, visit.id)
    ended = await end_patient_sessions(session, visit.id, EndReason.link_revoked)
    audit.record(
        session,
        actor_type="clinician",
        actor_id=clinician_id,
        action="invite.revoked",
        visit_id=visit.id,
        detail={"invites": revoked, "sessions_ended": len(ended)},
    )
    return ended


async def replace_invite(
    session: AsyncSession, visit: Visit, *, invite_ttl: timedelta, clinician_id: str | None
) -> tuple[IssuedInvite, list[str]]:
    """A new link for an open visit; the earlier ones stop working, and so does the session
    opened with one (the patient opens the new link)."""
    if not is_open(visit.status):
        raise InviteInvalid("this visit is no longer open")
    ended = await revoke_visit_invites(session, visit, clinician_id=clinician_id)
    issued = await issue_invite(session, visit, invite_ttl=invite_ttl)
    audit.record(
        session,
        actor_type="clinician",
        actor_id=clinician_id,
        action="invite.issued",
        visit_id=visit.id,
    )
    return issued, ended


async def get_visit(
    session: AsyncSession, visit_id: str, *, clinician_id: str | None = None
) -> Visit:
    visit = await session.get(Visit, visit_id)
    if visit is None or (clinician_id is not None and visit.clinician_id != clinician_id):
        raise VisitNotFound(visit_id)
    return visit


async def list_visits(
    session: AsyncSession, *, clinician_id: str, start: datetime, end: datetime
) -> list[Visit]:
    result = await session.execute(
        select(Visit)
        .where(Visit.clinician_id == clinician_id)
        .where(Visit.scheduled_at >= start, Visit.scheduled_at < end)
        .order_by(Visit.scheduled_at)
    )
    return list(result.scalars())


async def set_status(
    session: AsyncSession,
    visit: Visit,
    target: VisitStatus,
    *,
    actor_type: audit.ActorType,
    actor_id: str | None,
) -> Visit:
    check_transition(visit.status, target)
    if target == visit.status:
        return visit
    previous = visit.status
    visit.status = target
    now = utcnow()
    if target == VisitStatus.in_call and visit.started_at is None:
        visit.started_at = now
    if target in (VisitStatus.ended, VisitStatus.cancelled):
        visit.ended_at = now
        # The patient's link and session die with the visit: nothing is left to open.
        await revoke_invites(session, visit.id, now=now)
        await end_patient_sessions(session, visit.id, EndReason.visit_closed, now=now)
    audit.record(
        session,
        actor_type=actor_type,
        actor_id=actor_id,
        action="visit.status",
        visit_id=visit.id,
        detail={"from": previous.value, "to": target.value},
    )
    await session.flush()
    return visit


async def _valid_invite(session: AsyncSession, token: str, now: datetime) -> tuple[Invite, Visit]:
    result = await session.execute(select(Invite).where(Invite.token_hash == hash_token(token)))
    invite = result.scalar_one_or_none()
    if invite is None or invite.expires_at <= now:
        raise InviteInvalid("this invite link is not valid (expired or unknown)")
    visit = await session.get(Visit, invite.visit_id)
    if visit is None or not is_open(visit.status):
        raise InviteInvalid("this visit is no longer open")
    if invite.revoked_at is not None:
        raise InviteInvalid("this visit link was withdrawn; ask the clinic for a new one")
    return invite, visit


async def redeem_invite(session: AsyncSession, token: str, *, now: datetime | None = None) -> Visit:
    """The visit an invite token opens, if the token is valid right now (only looked at)."""
    _, visit = await _valid_invite(session, token, now or utcnow())
    return visit


async def claim_invite(
    session: AsyncSession, token: str, *, now: datetime | None = None
) -> tuple[Invite, Visit]:
    """Mark a valid invite used, holding it until the transaction ends, so that two
    redemptions at once follow each other and the second sees the first one's session."""
    now = now or utcnow()
    # The write comes first: it takes the invite's row lock (PostgreSQL) or the database's
    # write lock (SQLite) before anything is read, so what is read next is current.
    await session.execute(
        update(Invite)
        .where(Invite.token_hash == hash_token(token))
        .values(redeemed_at=now, redemptions=Invite.redemptions + 1)
        .execution_options(synchronize_session=False)
    )
    invite, visit = await _valid_invite(session, token, now)
    await session.refresh(invite)
    return invite, visit
