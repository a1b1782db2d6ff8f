"""The audit trail as a retention kind: the oldest stretch of the chain, after six years."""

from __future__ import annotations

from datetime import datetime

from telehealth.audit_retention import count_audit_events, purge_audit_events
from telehealth.retention.targets import RetentionTargets


async def purge(targets: RetentionTargets, cutoff: datetime) -> int:
    async with targets.database.session() as session:  # commits at the end of the block
        return await purge_audit_events(session, cutoff)


async def count(targets: RetentionTargets, cutoff: datetime) -> int:
    async with targets.database.session() as session:
        return await count_audit_events(session, cutoff)
