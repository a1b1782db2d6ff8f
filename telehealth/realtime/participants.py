"""Who a request or websocket is, as a participant of one visit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from signaling.peers import PeerInfo
from telehealth.auth.sessions import CLINICIAN_COOKIE, PATIENT_COOKIE, Principal, resolve
from telehealth.security import hash_token
from telehealth.storage import Database
from telehealth.storage.models import SessionKind, Visit
from telehealth.visits.lifecycle import is_open
from telehealth.visits.service import InviteInvalid, redeem_invite


class NotAParticipant(Exception):
    """Base: the caller may not take part in this visit. `kind` says why."""

    kind = "forbidden"


class NotSignedIn(NotAParticipant):
    kind = "unauthenticated"


class WrongVisit(NotAParticipant):
    kind = "forbidden"


class VisitClosed(NotAParticipant):
    kind = "closed"


def peer_id_for(principal: Principal) -> str:
    if principal.kind == SessionKind.clinician:
        return f"c-{principal.clinician_id}"
    # Stable per patient session, so a reconnect is the same participant.
    return f"p-{principal.session_hash[:20]}"


async def participant_for(
    database: Database,
    cookies: Mapping[str, str],
    visit_id: str,
    *,
    staff_idle_after: timedelta | None = None,
) -> tuple[PeerInfo, Visit]:
    """The participant these session cookies make of `visit_id`, and the visit. With
    `staff_idle_after`, this counts as a clinician's activity (an open call is)."""
    async with database.session() as session:
        principal = await resolve(
            session,
            cookies.get(CLINICIAN_COOKIE),
            SessionKind.clinician,
            idle_after=staff_idle_after,
        ) or await resolve(session, cookies.get(PATIENT_COOKIE), SessionKind.patient)
        if principal is None:
            raise NotSignedIn("not signed in or session expired")
        visit = await session.get(Visit, visit_id)
        if principal.kind == SessionKind.clinician:
            allowed = visit is not None and visit.clinician_id == principal.clinician_id
        else:
            allowed = visit is not None and principal.visit_id == visit_id
        if not allowed or visit is None:
            raise WrongVisit("this session is not for that visit")
        if not is_open(visit.status):
            raise VisitClosed("this visit is closed")
    role = "clinician" if principal.kind == SessionKind.clinician else "patient"
    name = principal.display_name or ("Clinician" if role == "clinician" else "Patient")
    return PeerInfo(peer_id=peer_id_for(principal), role=role, name=name), visit


async def invite_holder_for(
    database: Database, invite: str, visit_id: str
) -> tuple[PeerInfo, Visit]:
    """The holder of a valid invite to `visit_id`, before they have a session: the patient
    page's voice guidance starts before the name is given. The invite is only looked at,
    not redeemed."""
    async with database.session() as session:
        try:
            visit = await redeem_invite(session, invite)
        except InviteInvalid as error:
            raise NotSignedIn(str(error)) from None
    if visit.id != visit_id:
        raise WrongVisit("this invite is not for that visit")
    peer_id = f"i-{hash_token(invite)[:20]}"
    return PeerInfo(peer_id=peer_id, role="patient", name="Patient"), visit
