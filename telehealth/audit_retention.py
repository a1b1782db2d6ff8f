"""Retention of the audit trail (`retention_audit_days`, six years by default).

Only the oldest stretch of the chain is removed: events up to (not including) the first one
recorded at or after the cut-off, so the kept trail stays one unbroken chain. The chain
head remembers the last removed event's id and hash as the new anchor, which `verify`
starts from; the purge itself is an audit event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.audit_chain import HEAD_ID, lock_head
from telehealth.storage.models import AuditChainHead, AuditEvent


async def purge_audit_events(session: AsyncSession, before: datetime) -> int:
    """Delete the oldest audit events recorded before `before`; how many went."""
    if before.tzinfo is None:
        raise ValueError("before needs a timezone")
    head = await session.run_sync(lambda sync: lock_head(sync.connection()))
    if head is None:
        raise RuntimeError("the audit chain head is missing; run the migrations")
    first_kept = await session.scalar(
        select(func.min(AuditEvent.id)).where(
            AuditEvent.id > head.anchor_id, AuditEvent.at >= before
        )
    )
    cut = first_kept - 1 if first_kept is not None else head.last_id
    last_removed = (
        await session.execute(
            select(AuditEvent.id, AuditEvent.hash)
            .where(AuditEvent.id > head.anchor_id, AuditEvent.id <= cut)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
    ).one_or_none()
    if last_removed is None:
        return 0
    removed = await session.execute(delete(AuditEvent).where(AuditEvent.id <= last_removed.id))
    await session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(anchor_id=last_removed.id, anchor_hash=last_removed.hash)
    )
    count = int(removed.rowcount or 0)  # type: ignore[attr-defined]
    audit.record(
        session,
        actor_type="system",
        actor_id=None,
        action="audit.purged",
        detail={"events": count, "through_event": last_removed.id},
    )
    await session.flush()
    return count


async def count_audit_events(session: AsyncSession, before: datetime) -> int:
    """How many events `purge_audit_events(session, before)` would delete."""
    head = await session.get(AuditChainHead, HEAD_ID)
    if head is None:
        return 0
    first_kept = await session.scalar(
        select(func.min(AuditEvent.id)).where(
            AuditEvent.id > head.anchor_id, AuditEvent.at >= before
        )
    )
    cut = first_kept - 1 if first_kept is not None else head.last_id
    count = await session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.id > head.anchor_id, AuditEvent.id <= cut)
    )
    return int(count or 0)
