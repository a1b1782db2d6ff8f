"""ICE servers for the browser's RTCPeerConnection."""

from __future__ import annotations

from fastapi import APIRouter

from telehealth.api.schemas import IceServersOut
from telehealth.auth.deps import AnyParticipant
from telehealth.deps import SettingsDep
from telehealth.ice import ice_servers

router = APIRouter(prefix="/api", tags=["webrtc"])


@router.get("/ice", response_model_by_alias=True)
async def ice(participant: AnyParticipant, settings: SettingsDep) -> IceServersOut:
    """STUN/TURN servers with time-limited TURN credentials; empty when none are configured."""
    secret = settings.turn_secret.get_secret_value() if settings.turn_secret else None
    user = participant.clinician_id or participant.visit_id or "participant"
    return IceServersOut(
        ice_servers=ice_servers(
            settings.ice_servers,
            turn_secret=secret,
            user=user,
            ttl_s=settings.turn_credential_ttl_s,
        ),
        ice_transport_policy=settings.ice_transport_policy,
    )
