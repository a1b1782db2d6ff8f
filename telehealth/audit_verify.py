"""Checking the audit chain: every event's hash, every link, and the head at the end.

The walk starts at the chain head's anchor (the genesis hash, or the last event a retention
purge removed), so a trail whose oldest events were purged still verifies, while deleting
the oldest kept event by hand does not. It stops at the head's last event, so events
appended during the walk are left to the next one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.audit_chain import HEAD_ID, stored_digest
from telehealth.storage.models import AuditChainHead, AuditEvent

BATCH = 1000


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first event that does not verify, and why (ids and hashes only)."""

    event_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    checked: int
    head_id: int
    head_hash: str
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


async def verify_chain(session: AsyncSession) -> ChainReport:
    """Walk the trail oldest first; the first broken event, if any, ends the walk."""
    head = await session.get(AuditChainHead, HEAD_ID)
    if head is None:
        return ChainReport(0, 0, "", ChainBreak(0, "the audit chain head row is missing"))
    last_id, last_hash = head.last_id, head.last_hash
    expected_prev, previous_id, checked = head.anchor_hash, head.anchor_id, 0

    def report(broken: ChainBreak | None) -> ChainReport:
        return ChainReport(checked, last_id, last_hash, broken)

    while True:
        rows = list(
            (
                await session.execute(
                    select(AuditEvent)
                    .where(AuditEvent.id > previous_id, AuditEvent.id <= last_id)
                    .order_by(AuditEvent.id)
                    .limit(BATCH)
                    .execution_options(populate_existing=True)
                )
            ).scalars()
        )
        if not rows:
            break
        for row in rows:
            if stored_digest(row) != row.hash:
                return report(ChainBreak(row.id, "its fields do not match its hash (edited)"))
            if row.prev_hash != expected_prev:
                where = f"event {previous_id}" if previous_id else "the start of the trail"
                return report(
                    ChainBreak(
                        row.id,
                        f"it does not follow {where}: an event between them was deleted or changed",
                    )
                )
            expected_prev, previous_id = row.hash, row.id
            checked += 1
        session.expunge_all()
    if previous_id != last_id or expected_prev != last_hash:
        return report(
            ChainBreak(
                last_id,
                f"the trail ends at event {previous_id} but the chain head names event "
                f"{last_id}: the newest events were deleted",
            )
        )
    return report(None)
