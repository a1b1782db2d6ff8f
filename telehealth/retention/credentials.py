"""Retention of patient sessions and invites: the bearer credentials of a visit.

A patient session counts from when it ended (expired or was revoked), an invite from
when it expired or was revoked. Both hold hashes only, but a session also holds the name
the patient typed. Staff sessions are not touched here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from telehealth import audit
from telehealth.retention.targets import RetentionTargets
from telehealth.storage.models import Invite, Session, SessionKind

BATCH_ROWS = 500


def _patient_session_over(cutoff: datetime) -> ColumnElement[bool]:
    return (Session.kind == SessionKind.patient.value) & or_(
        Session.expires_at < cutoff, Session.revoked_at < cutoff
    )


def _invite_over(cutoff: datetime) -> ColumnElement[bool]:
    return or_(Invite.expires_at < cutoff, Invite.revoked_at < cutoff)


async def _purge_in_batches(
    targets: RetentionTargets,
    model: type[Session] | type[Invite],
    key: InstrumentedAttribute[str],
    over: ColumnElement[bool],
    kind: str,
) -> int:
    removed = 0
    while True:
        async with targets.database.session() as session:
            keys = list((await session.scalars(select(key).where(over).limit(BATCH_ROWS))).all())
            if not keys:
                return removed
            await session.execute(delete(model).where(key.in_(keys)))
            audit.record(
                session,
                actor_type="system",
                actor_id=None,
                action="retention.purged",
                detail={"kind": kind, "rows": len(keys)},
            )
            removed += len(keys)


async def purge_patient_sessions(targets: RetentionTargets, cutoff: datetime) -> int:
    """Delete patient sessions that ended before `cutoff`."""
    return await _purge_in_batches(
        targets, Session, Session.token_hash, _patient_session_over(cutoff), "patient_sessions"
    )


async def count_patient_sessions(targets: RetentionTargets, cutoff: datetime) -> int:
    async with targets.database.session() as session:
        count = await session.scalar(select(func.count()).where(_patient_session_over(cutoff)))
    return count or 0


async def purge_invites(targets: RetentionTargets, cutoff: datetime) -> int:
    """Delete invites that expired or were revoked before `cutoff`."""
    return await _purge_in_batches(targets, Invite, Invite.id, _invite_over(cutoff), "invites")


async def count_invites(targets: RetentionTargets, cutoff: datetime) -> int:
    async with targets.database.session() as session:
        count = await session.scalar(select(func.count()).where(_invite_over(cutoff)))
    return count or 0
