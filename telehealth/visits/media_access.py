"""Whose call may get relay (TURN) credentials: a participant of a visit that is open."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.auth.sessions import Principal
from telehealth.storage.models import SessionKind, Visit
from telehealth.visits.lifecycle import is_open
from telehealth.visits.service import VisitNotFound


class VisitNotOpen(PermissionError):
    """The visit has ended or was cancelled: its call needs no relay any more."""


async def visit_for_call_media(session: AsyncSession, principal: Principal, visit_id: str) -> Visit:
    """The open visit `principal` takes part in, by id; VisitNotFound if it is not theirs
    (another clinician's, another visit than a patient's session is for), VisitNotOpen
    once it is over."""
    visit = await session.get(Visit, visit_id)
    if visit is None:
        raise VisitNotFound(visit_id)
    if principal.kind == SessionKind.clinician:
        mine = visit.clinician_id == principal.clinician_id
    else:
        mine = visit.id == principal.visit_id
    if not mine:
        raise VisitNotFound(visit_id)
    if not is_open(visit.status):
        raise VisitNotOpen("this visit is no longer open")
    return visit
