"""Red-flag alerts: an audit event with the write, then a live status to the clinicians.

The live alert goes out after the flag is committed, so a clinician who is told can
always read it. If the room backend is down the flag is still stored and shown on the
dashboard (`/api/intake/flags`); the failure is logged without any PHI.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from signaling.errors import SignalingError
from signaling.hub import RoomHub
from telehealth import audit
from telehealth.intake import RedFlag

log = logging.getLogger("telehealth.intake")

URGENT_INTAKE_EVENT = "urgent_intake"


def record_urgent(
    session: AsyncSession, visit_id: str, flags: Sequence[RedFlag], source: str
) -> None:
    """Audit newly raised flags (identifiers only)."""
    audit.record(
        session,
        actor_type="patient",
        actor_id=None,
        action="intake.urgent",
        visit_id=visit_id,
        detail={"flags": [flag.id for flag in flags], "source": source},
    )


async def alert_clinicians(hub: RoomHub, visit_id: str, flags: Sequence[RedFlag]) -> bool:
    """Tell the clinicians in the visit's room; False if the room backend refused."""
    detail = ",".join(flag.id for flag in flags)
    try:
        await hub.inject_status(visit_id, URGENT_INTAKE_EVENT, detail, audience="clinicians")
    except SignalingError as error:
        log.error(
            "urgent intake alert not delivered live",
            extra={"visit_id": visit_id, "reason": type(error).__name__},
        )
        return False
    return True
