"""Patient links: revoking a visit's invites, and ending the patient sessions opened with them.

A patient session is the only thing an invite is exchanged for, and there is at most one
live one per visit: opening the link again, revoking it, issuing a new one, and the visit
ending or being cancelled all end it. `EndReason` says which, so the page can tell the
patient why (and the websocket close with a code that says it).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.storage.models import Invite, Session, SessionKind, utcnow


class EndReason(enum.StrEnum):
    """Why a patient session was ended before its time (stored in `sessions.end_reason`)."""

    opened_elsewhere = "opened_elsewhere"
    link_revoked = "link_revoked"
    visit_closed = "visit_closed"
    signed_out = "signed_out"


# What the patient is told, on a refused request and on the page.
END_MESSAGES: dict[EndReason, str] = {
    EndReason.opened_elsewhere: "This visit was opened on another device.",
    EndReason.link_revoked: "This visit link was withdrawn; ask the clinic for a new one.",
    EndReason.visit_closed: "This visit is closed.",
    EndReason.signed_out: "You signed out of this visit.",
}


async def end_patient_sessions(
    session: AsyncSession, visit_id: str, reason: EndReason, *, now: datetime | None = None
) -> list[str]:
    """End every live patient session of `visit_id`; the token hashes of those ended."""
    now = now or utcnow()
    rows = await session.execute(
        select(Session.token_hash).where(
            Session.visit_id == visit_id,
            Session.kind == SessionKind.patient.value,
            Session.revoked_at.is_(None),
            Session.expires_at > now,
        )
    )
    ended = list(rows.scalars())
    if ended:
        await session.execute(
            update(Session)
            .where(Session.token_hash.in_(ended))
            .values(revoked_at=now, end_reason=reason.value)
            .execution_options(synchronize_session="fetch")
        )
    return ended


async def revoke_invites(
    session: AsyncSession, visit_id: str, *, now: datetime | None = None
) -> int:
    """Revoke every invite of `visit_id` not revoked yet; how many there were."""
    now = now or utcnow()
    result = await session.execute(
        update(Invite)
        .where(Invite.visit_id == visit_id, Invite.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)
