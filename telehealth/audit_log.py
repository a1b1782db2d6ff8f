"""Reading the audit trail back: filtered, newest first, and exported one event a line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.storage.models import AuditEvent

# An export is bounded so one request cannot hold the whole history in memory.
EXPORT_LIMIT = 50_000


@dataclass(frozen=True, slots=True)
class AuditFilter:
    action: str | None = None
    actor_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def find_events(
    session: AsyncSession, wanted: AuditFilter, *, limit: int = 200
) -> list[AuditEvent]:
    query = select(AuditEvent)
    if wanted.action:
        query = query.where(AuditEvent.action == wanted.action)
    if wanted.actor_id:
        query = query.where(AuditEvent.actor_id == wanted.actor_id)
    if wanted.since is not None:
        query = query.where(AuditEvent.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AuditEvent.at < wanted.until)
    rows = await session.execute(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    )
    return list(rows.scalars())


def event_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "action": event.action,
        "visit_id": event.visit_id,
        "detail": event.detail,
        "client_address": event.client_address,
        "outcome": event.outcome,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def as_ndjson(events: Iterable[AuditEvent]) -> Iterator[str]:
    for event in events:
        yield json.dumps(event_fields(event), separators=(",", ":"), sort_keys=True) + "\n"
