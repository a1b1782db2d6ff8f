"""What clinicians read: a visit's QuestionnaireResponse, its summary, its history of
versions, and the flags of their visits for the dashboard. Only the clinician of the visit
sees its intake."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.intake_service.errors import IntakeNotFound
from telehealth.storage.models import IntakeResponse, IntakeResponseVersion, Visit


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


@dataclass(frozen=True, slots=True)
class IntakeHistory:
    """A visit's submitted versions, newest first, and every flag its intake ever raised
    (those of an unfinished form or dialogue too, which are in no version)."""

    visit_id: str
    versions: list[IntakeResponseVersion]
    flags: list[dict[str, str]]


async def clinician_intake_history(
    session: AsyncSession, visit_id: str, clinician_id: str
) -> IntakeHistory:
    """The history of one of the clinician's visits; reading it is audited."""
    owner = await session.scalar(select(Visit.clinician_id).where(Visit.id == visit_id))
    if owner is None or owner != clinician_id:
        raise IntakeNotFound("no intake for this visit yet")
    versions = list(
        (
            await session.scalars(
                select(IntakeResponseVersion)
                .where(IntakeResponseVersion.visit_id == visit_id)
                .order_by(IntakeResponseVersion.version.desc())
            )
        ).all()
    )
    current = await session.scalar(
        select(IntakeResponse.flags).where(IntakeResponse.visit_id == visit_id)
    )
    flags: dict[str, dict[str, str]] = {}
    for raised in [current or [], *(version.flags for version in reversed(versions))]:
        for flag in raised:
            flags.setdefault(flag["id"], dict(flag))
    audit.record(
        session,
        actor_type="clinician",
        actor_id=clinician_id,
        action="intake.history.read",
        visit_id=visit_id,
        detail={"versions": len(versions)},
    )
    return IntakeHistory(visit_id, versions, list(flags.values()))


def history_view(history: IntakeHistory) -> dict[str, Any]:
    """Versions newest first, each with its time, source, flags, summary and response."""
    return {
        "visit_id": history.visit_id,
        "urgent": bool(history.flags),
        "flags": history.flags,
        "versions": [
            {
                "version_id": str(version.version),
                "submitted_at": version.submitted_at.isoformat(),
                "source": version.source,
                "urgent": bool(version.flags),
                "flags": list(version.flags),
                "lines": list(version.summary_lines),
                "response": version.response,
            }
            for version in history.versions
        ],
    }


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
