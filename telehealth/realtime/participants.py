"""Who a request or websocket is, as a participant of one visit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from signaling.peers import PeerInfo
from telehealth.auth.patient_sessions import end_reason
from telehealth.auth.sessions import CLINICIAN_COOKIE, PATIENT_COOKIE, Principal, resolve
from telehealth.security import hash_token
from telehealth.storage import Database
from telehealth.storage.models import SessionKind, Visit
from telehealth.visits.lifecycle import is_open
from telehealth.visits.patient_links import END_MESSAGES, EndReason
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


class OpenedElsewhere(NotAParticipant):
    """The patient's link was opened again, on another device: this session is over."""

    kind = "opened_elsewhere"


def patient_peer_id(session_hash: str) -> str:
    # Stable per patient session, so a reconnect is the same participant.
    return f"p-{session_hash[:20]}"


def peer_id_for(principal: Principal) -> str:
    if principal.kind == SessionKind.clinician:
        return f"c-{principal.clinician_id}"
    return patient_peer_id(principal.session_hash)


def _refusal_for_ended(reason: EndReason | None) -> NotAParticipant:
    if reason == EndReason.opened_elsewhere:
        return OpenedElsewhere(END_MESSAGES[reason])
    if reason == EndReason.visit_closed:
        return VisitClosed(END_MESSAGES[reason])
    if reason is not None:
        return NotSignedIn(END_MESSAGES[reason])
    return NotSignedIn("not signed in or session expired")


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
            raise _refusal_for_ended(await end_reason(session, cookies.get(PATIENT_COOKIE)))
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
