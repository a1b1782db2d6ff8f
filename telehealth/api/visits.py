"""The clinician's visits: create, list, cancel, re-invite."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from telehealth.api.schemas import VisitCreate, VisitList, VisitOut, VisitWithInvite
from telehealth.auth.deps import CurrentClinician
from telehealth.deps import NowDep, ServicesDep, SessionDep, SettingsDep
from telehealth.realtime.patient_notices import patient_sessions_ended
from telehealth.storage.models import VisitStatus
from telehealth.visits.lifecycle import InvalidTransition
from telehealth.visits.patient_presence import patients_of
from telehealth.visits.ranges import VisitRange, visit_window
from telehealth.visits.service import (
    InviteInvalid,
    VisitNotFound,
    create_visit,
    get_visit,
    invite_url,
    list_visits,
    replace_invite,
    revoke_visit_invites,
    set_status,
)

router = APIRouter(prefix="/api/visits", tags=["visits"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create(
    body: VisitCreate, clinician: CurrentClinician, session: SessionDep, settings: SettingsDep
) -> VisitWithInvite:
    """Schedule a visit and get its patient invite link (shown once)."""
    assert clinician.clinician_id is not None
    visit, invite = await create_visit(
        session,
        clinician_id=clinician.clinician_id,
        scheduled_at=body.scheduled_at,
        patient_label=body.patient_label,
        invite_ttl=timedelta(hours=settings.invite_ttl_hours),
    )
    return VisitWithInvite(
        visit=VisitOut.of(visit),
        invite_url=invite_url(settings.public_base_url, invite.token),
        invite_expires_at=invite.expires_at,
    )


@router.get("")
async def list_(
    clinician: CurrentClinician,
    session: SessionDep,
    now: NowDep,
    range_: Annotated[VisitRange, Query(alias="range")] = "today",
) -> VisitList:
    """Today's visits (UTC day), or upcoming ones (from now, 30 days)."""
    assert clinician.clinician_id is not None
    start, end = visit_window(range_, now)
    visits = await list_visits(session, clinician_id=clinician.clinician_id, start=start, end=end)
    patients = await patients_of(session, [visit.id for visit in visits])
    return VisitList(range=range_, visits=[VisitOut.of(v, patients.get(v.id)) for v in visits])


async def _own_visit(session: SessionDep, clinician: CurrentClinician, visit_id: str) -> VisitOut:
    try:
        visit = await get_visit(session, visit_id, clinician_id=clinician.clinician_id)
    except VisitNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such visit") from None
    patients = await patients_of(session, [visit.id])
    return VisitOut.of(visit, patients.get(visit.id))


@router.get("/{visit_id}")
async def read(visit_id: str, clinician: CurrentClinician, session: SessionDep) -> VisitOut:
    """One of the clinician's visits."""
    return await _own_visit(session, clinician, visit_id)


@router.post("/{visit_id}/cancel")
async def cancel(
    visit_id: str, clinician: CurrentClinician, session: SessionDep, services: ServicesDep
) -> VisitOut:
    """Cancel a visit that has not ended; the patient's link and session end with it."""
    try:
        visit = await get_visit(session, visit_id, clinician_id=clinician.clinician_id)
        await set_status(
            session,
            visit,
            VisitStatus.cancelled,
            actor_type="clinician",
            actor_id=clinician.clinician_id,
        )
    except VisitNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such visit") from None
    except InvalidTransition as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    await session.commit()
    # Its open websockets close at once (4410), not at their next periodic check.
    await services.revocations.announce_visit(visit.id)
    await services.assistants.close_participant(visit.id)
    return VisitOut.of(visit)


@router.post("/{visit_id}/invite", status_code=status.HTTP_201_CREATED)
async def reinvite(
    visit_id: str, clinician: CurrentClinician, session: SessionDep, services: ServicesDep
) -> VisitWithInvite:
    """A new invite link for the visit: earlier links stop working, and the patient session
    opened with one ends (the patient opens the new link)."""
    settings = services.settings
    try:
        visit = await get_visit(session, visit_id, clinician_id=clinician.clinician_id)
        invite, ended = await replace_invite(
            session,
            visit,
            invite_ttl=timedelta(hours=settings.invite_ttl_hours),
            clinician_id=clinician.clinician_id,
        )
    except VisitNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such visit") from None
    except InviteInvalid as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    await session.commit()
    await patient_sessions_ended(services, visit.id, ended)
    return VisitWithInvite(
        visit=VisitOut.of(visit),
        invite_url=invite_url(settings.public_base_url, invite.token),
        invite_expires_at=invite.expires_at,
    )


@router.delete("/{visit_id}/invite", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invite(
    visit_id: str, clinician: CurrentClinician, session: SessionDep, services: ServicesDep
) -> None:
    """Withdraw the visit's patient link: it cannot be opened any more, and the session
    opened with it ends."""
    try:
        visit = await get_visit(session, visit_id, clinician_id=clinician.clinician_id)
    except VisitNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such visit") from None
    ended = await revoke_visit_invites(session, visit, clinician_id=clinician.clinician_id)
    await session.commit()
    await patient_sessions_ended(services, visit.id, ended)
