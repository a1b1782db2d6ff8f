"""What clinicians read: a visit's QuestionnaireResponse, its summary, and the flags of
their visits for the dashboard. Only the clinician of the visit sees its intake."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.intake_service.errors import IntakeNotFound
from telehealth.storage.models import IntakeResponse, Visit


async def clinician_intake(
    session: AsyncSession, visit_id: str, clinician_id: str, *, view: str
) -> IntakeResponse:
    """The intake of one of the clinician's visits; reading it is audited."""
    result = await session.execute(
        select(IntakeResponse)
        .join(Visit, Visit.id == IntakeResponse.visit_id)
        .where(IntakeResponse.visit_id == visit_id, Visit.clinician_id == clinician_id)
    )
    row = result.scalar_one_or_none()
    if row is None:
        raise IntakeNotFound("no intake for this visit yet")
    audit.record(
        session,
        actor_type="clinician",
        actor_id=clinician_id,
        action="intake.viewed",
        visit_id=visit_id,
        detail={"view": view},
    )
    return row


def summary_view(row: IntakeResponse) -> dict[str, Any]:
    """The one-screen summary: urgency and flags first, then one line per answer."""
    return {
        "visit_id": row.visit_id,
        "urgent": row.urgent,
        "flags": list(row.flags),
        "status": row.status,
        "source": row.source,
        "lines": list(row.summary_lines),
        "updated_at": row.updated_at.isoformat(),
        "completed_at": row.completed_at.isoformat() if row.completed_at else None,
    }


async def flags_by_visit(
    session: AsyncSession, clinician_id: str, start: datetime, end: datetime
) -> dict[str, dict[str, Any]]:
    """Intake urgency of the clinician's visits scheduled in [start, end), by visit id."""
    result = await session.execute(
        select(
            IntakeResponse.visit_id,
            IntakeResponse.urgent,
            IntakeResponse.flags,
            IntakeResponse.status,
        )
        .join(Visit, Visit.id == IntakeResponse.visit_id)
        .where(Visit.clinician_id == clinician_id)
        .where(Visit.scheduled_at >= start, Visit.scheduled_at < end)
    )
    return {
        visit_id: {"urgent": urgent, "flags": list(flags), "status": status}
        for visit_id, urgent, flags, status in result.all()
    }


async def patient_intake_state(session: AsyncSession, visit_id: str) -> dict[str, Any]:
    """What the patient's page needs to know: is there an intake, is it finished, urgent?"""
    result = await session.execute(
        select(IntakeResponse.status, IntakeResponse.source, IntakeResponse.urgent).where(
            IntakeResponse.visit_id == visit_id
        )
    )
    found = result.one_or_none()
    if found is None:
        return {"status": "not-started", "source": None, "urgent": False}
    status, source, urgent = found
    return {"status": status, "source": source, "urgent": urgent}
