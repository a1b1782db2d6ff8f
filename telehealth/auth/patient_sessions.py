"""Patient sessions: one live session per visit link, and why a session stopped admitting.

Opening the link again ends the earlier session (`EndReason.opened_elsewhere`): its
requests get 401 and its websocket closes with 4411, while the clinician is told that the
patient rejoined from a new device. Revoking or replacing the link, and the visit ending,
end it too (telehealth/visits/patient_links.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.security import hash_token, new_token
from telehealth.storage.models import Session, SessionKind, Visit, utcnow
from telehealth.visits.patient_links import END_MESSAGES, EndReason, end_patient_sessions
from telehealth.visits.patient_names import patient_display_name
from telehealth.visits.service import claim_invite

EXPIRED_MESSAGE = "your visit link has expired; ask the clinic for a new one"


@dataclass(frozen=True, slots=True)
class OpenedPatientSession:
    """A new patient session: its visit, its cookie token, and the sessions it ended."""

    visit: Visit
    token: str
    display_name: str
    replaced: list[str] = field(default_factory=list)


async def open_patient_session(
    session: AsyncSession, *, invite_token: str, display_name: str, ttl: timedelta
) -> OpenedPatientSession:
    """Exchange a valid invite for a session of its visit, ending the visit's earlier one.
    Raises NameRefused (the typed name) or InviteInvalid (the link)."""
    name = patient_display_name(display_name)
    invite, visit = await claim_invite(session, invite_token)
    now = utcnow()
    replaced = await end_patient_sessions(session, visit.id, EndReason.opened_elsewhere, now=now)
    token = new_token()
    session.add(
        Session(
            token_hash=hash_token(token),
            kind=SessionKind.patient.value,
            visit_id=visit.id,
            invite_id=invite.id,
            display_name=name,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    audit.record(
        session,
        actor_type="patient",
        actor_id=None,
        action="invite.opened",
        visit_id=visit.id,
        detail={"redemption": invite.redemptions, "sessions_ended": len(replaced)},
    )
    return OpenedPatientSession(visit=visit, token=token, display_name=name, replaced=replaced)


async def end_reason(session: AsyncSession, token: str | None) -> EndReason | None:
    """Why the patient session of `token` was ended early, if it was and it says why."""
    if not token:
        return None
    row = await session.get(Session, hash_token(token))
    if row is None or row.kind != SessionKind.patient.value or row.end_reason is None:
        return None
    try:
        return EndReason(row.end_reason)
    except ValueError:
        return None


async def refusal_message(session: AsyncSession, token: str | None) -> str:
    """What a refused patient request is told: why its session ended, when known."""
    reason = await end_reason(session, token)
    return END_MESSAGES[reason] if reason is not None else EXPIRED_MESSAGE


@dataclass(frozen=True, slots=True)
class SignedOut:
    visit_id: str
    session_hash: str


async def sign_out_patient(session: AsyncSession, token: str | None) -> SignedOut | None:
    """End the patient's own session; None if there was no live one to end."""
    if not token:
        return None
    row = await session.get(Session, hash_token(token))
    if row is None or row.kind != SessionKind.patient.value or row.revoked_at is not None:
        return None
    if row.visit_id is None or row.ends_at() <= utcnow():
        return None
    row.revoked_at = utcnow()
    row.end_reason = EndReason.signed_out.value
    audit.record(
        session, actor_type="patient", actor_id=None, action="logout", visit_id=row.visit_id
    )
    return SignedOut(visit_id=row.visit_id, session_hash=row.token_hash)
