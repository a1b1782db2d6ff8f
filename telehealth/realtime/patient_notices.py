"""After patient sessions ended (committed): their websockets and assistant peers close,
and the clinician learns of a patient who rejoined from a new device."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from signaling.errors import SignalingError
from telehealth.realtime.participants import patient_peer_id
from telehealth.services import Services

log = logging.getLogger("telehealth.patients")

PATIENT_REJOINED_EVENT = "patient_rejoined"
PATIENT_REJOINED_TEXT = "The patient rejoined from a new device."


async def patient_sessions_ended(
    services: Services, visit_id: str, session_hashes: Sequence[str], *, rejoined: bool = False
) -> None:
    """Close what the ended sessions held open; with `rejoined`, tell the clinicians."""
    # Every process's websockets re-check their session at once (and within seconds anyway).
    await services.revocations.announce_visit(visit_id)
    for session_hash in session_hashes:
        await services.assistants.close_participant(visit_id, patient_peer_id(session_hash))
    if not rejoined:
        return
    try:
        await services.hub.inject_status(
            visit_id, PATIENT_REJOINED_EVENT, PATIENT_REJOINED_TEXT, audience="clinicians"
        )
    except SignalingError as error:  # the call page still sees the new peer join
        log.warning(
            "rejoin notice not delivered live",
            extra={"visit_id": visit_id, "reason": type(error).__name__},
        )
