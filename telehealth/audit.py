"""The audit trail: who did what to which visit. Identifiers only, never PHI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.storage.models import AuditEvent

ActorType = Literal["clinician", "patient", "admin", "system"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who an account change is recorded against: an admin, or the operator (`system`)."""

    type: ActorType
    id: str | None = None


# An operator at the server's command line.
SYSTEM = Actor("system")


def record(
    session: AsyncSession,
    *,
    actor_type: ActorType,
    actor_id: str | None,
    action: str,
    visit_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        visit_id=visit_id,
        detail=detail or {},
    )
    session.add(event)
    return event
