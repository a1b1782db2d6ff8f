"""What the clinician is shown of a visit's patient: the name they typed when they opened
the link (beside the label the clinic scheduled), and whether they rejoined on a new device."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.storage.models import Session, SessionKind
from telehealth.visits.patient_links import EndReason

# A bound on the rows read: a day's list has dozens of visits, each opened a few times.
MAX_SESSIONS_READ = 5000


@dataclass(frozen=True, slots=True)
class PatientPresence:
    """The newest patient session of a visit: the typed name; whether it replaced one."""

    typed_name: str
    rejoined: bool


async def patients_of(
    session: AsyncSession, visit_ids: Sequence[str]
) -> dict[str, PatientPresence]:
    """Visit id -> its patient, for the visits whose link was opened."""
    if not visit_ids:
        return {}
    rows = await session.execute(
        select(Session.visit_id, Session.display_name, Session.end_reason)
        .where(Session.kind == SessionKind.patient.value, Session.visit_id.in_(visit_ids))
        .order_by(Session.created_at.desc())
        .limit(MAX_SESSIONS_READ)
    )
    newest: dict[str, str] = {}
    replaced: set[str] = set()
    for visit_id, name, reason in rows.all():
        if visit_id is None:
            continue
        newest.setdefault(visit_id, name)
        if reason == EndReason.opened_elsewhere.value:
            replaced.add(visit_id)
    return {
        visit_id: PatientPresence(typed_name=name, rejoined=visit_id in replaced)
        for visit_id, name in newest.items()
    }
