"""ICE servers for the browser's RTCPeerConnection, for the call of one open visit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from telehealth.api.schemas import IceServersOut
from telehealth.auth.deps import AnyParticipant
from telehealth.deps import SessionDep, SettingsDep
from telehealth.ice import ice_servers
from telehealth.visits.media_access import VisitNotOpen, visit_for_call_media
from telehealth.visits.service import VisitNotFound

router = APIRouter(prefix="/api", tags=["webrtc"])

VisitId = Annotated[str, Query(alias="visit", min_length=1, max_length=32)]


@router.get("/ice", response_model_by_alias=True)
async def ice(
    participant: AnyParticipant, visit_id: VisitId, session: SessionDep, settings: SettingsDep
) -> IceServersOut:
    """STUN/TURN servers with short-lived TURN credentials for the call of an open visit the
    caller takes part in; empty when none are configured."""
    try:
        visit = await visit_for_call_media(session, participant, visit_id)
    except VisitNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such visit") from None
    except VisitNotOpen as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    secret = settings.turn_secret.get_secret_value() if settings.turn_secret else None
    user = participant.clinician_id or visit.id
    return IceServersOut(
        ice_servers=ice_servers(
            settings.ice_servers,
            turn_secret=secret,
            user=user,
            ttl_s=settings.turn_credential_ttl_s,
        ),
        ice_transport_policy=settings.ice_transport_policy,
    )
