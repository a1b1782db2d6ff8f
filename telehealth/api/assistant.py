"""The speech assistant's WebRTC offer/answer, per participant of a visit."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from signaling.peers import PeerInfo
from telehealth.assistant.sessions import AssistantKey, TooManyAssistants
from telehealth.assistant.wiring import AssistantRequest, behaviour_for
from telehealth.deps import ServicesDep
from telehealth.navigation import Page, VoicePreferences
from telehealth.navigation.preferences import DEFAULT_VOLUME
from telehealth.realtime.participants import (
    NotAParticipant,
    NotSignedIn,
    invite_holder_for,
    participant_for,
)
from telehealth.storage.models import Visit
from voice.errors import VoiceError
from voice.tts import MAX_RATE_WPM, MIN_RATE_WPM

router = APIRouter(prefix="/api/assistant", tags=["assistant"])

STATUS_FOR_REFUSAL = {
    "unauthenticated": status.HTTP_401_UNAUTHORIZED,
    "forbidden": status.HTTP_403_FORBIDDEN,
    "closed": status.HTTP_409_CONFLICT,
    "opened_elsewhere": status.HTTP_401_UNAUTHORIZED,
}


class AssistantOffer(BaseModel):
    sdp: str = Field(min_length=10, max_length=60_000)
    type: Literal["offer"] = "offer"
    mode: Literal["captions", "intake", "commands"] = "captions"
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
    # Commands mode: the page the person starts on, and (before the patient has a session)
    # the invite that brought them; it is looked at, not redeemed.
    page: Page = "join"
    invite: str | None = Field(default=None, min_length=16, max_length=128)
    # How the assistant speaks to this person ("faster", "louder": remembered by the page);
    # without a rate, the server's configured one.
    rate_wpm: int | None = Field(default=None, ge=MIN_RATE_WPM, le=MAX_RATE_WPM)
    volume: float = Field(default=DEFAULT_VOLUME, ge=0.2, le=1.0)


class AssistantAnswer(BaseModel):
    sdp: str
    type: Literal["answer"] = "answer"
    engine: str
    model: str
    language: str


async def _caller(
    services: ServicesDep, request: Request, visit_id: str, body: AssistantOffer
) -> tuple[PeerInfo, Visit]:
    try:
        try:
            return await participant_for(services.database, request.cookies, visit_id)
        except NotSignedIn:
            if body.mode != "commands" or body.invite is None:
                raise
            return await invite_holder_for(services.database, body.invite, visit_id)
    except NotAParticipant as refusal:
        raise HTTPException(STATUS_FOR_REFUSAL[refusal.kind], str(refusal)) from None


@router.post("/{visit_id}/offer")
async def offer(
    visit_id: str, body: AssistantOffer, request: Request, services: ServicesDep
) -> AssistantAnswer:
    """Connect the participant's microphone to the speech assistant: live captions, the
    symptom intake by voice (patients), or voice commands on the patient's pages."""
    participant, visit = await _caller(services, request, visit_id, body)
    if not services.speech.enabled:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "speech is off on this server")
    if body.mode != "captions" and participant.role != "patient":
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {body.mode} assistant is for patients")
    try:
        engine = await services.speech.engine(body.language)
    except VoiceError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error)) from None
    rate_wpm = body.rate_wpm or services.settings.tts_rate_wpm
    wanted = AssistantRequest(body.mode, body.page, VoicePreferences(rate_wpm, body.volume))
    behaviour = behaviour_for(services, visit, participant, engine.info, wanted)
    try:
        _peer, answer = await services.assistants.open(
            AssistantKey(visit_id, participant.peer_id, body.mode),
            participant,
            engine=engine,
            offer_sdp=body.sdp,
            phrases=behaviour.phrases,
            consumer=behaviour.consumer,
            client_messages=behaviour.client_messages,
            worker=behaviour.worker,
        )
    except TooManyAssistants as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None
    except VoiceError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error)) from None
    info = engine.info
    return AssistantAnswer(sdp=answer, engine=info.engine, model=info.model, language=info.language)
