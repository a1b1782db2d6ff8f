"""The speech assistant's WebRTC offer/answer, per participant of a visit."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from telehealth.assistant.captions import CaptionRelay
from telehealth.assistant.intake_voice import VoiceIntake
from telehealth.assistant.sessions import AssistantKey, EventConsumer, TooManyAssistants
from telehealth.deps import ServicesDep
from telehealth.intake_service.sessions import IntakeSessions
from telehealth.realtime.participants import NotAParticipant, participant_for
from voice.errors import VoiceError

router = APIRouter(prefix="/api/assistant", tags=["assistant"])

STATUS_FOR_REFUSAL = {
    "unauthenticated": status.HTTP_401_UNAUTHORIZED,
    "forbidden": status.HTTP_403_FORBIDDEN,
    "closed": status.HTTP_409_CONFLICT,
}


class AssistantOffer(BaseModel):
    sdp: str = Field(min_length=10, max_length=60_000)
    type: Literal["offer"] = "offer"
    mode: Literal["captions", "intake"] = "captions"
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")


class AssistantAnswer(BaseModel):
    sdp: str
    type: Literal["answer"] = "answer"
    engine: str
    model: str
    language: str


@router.post("/{visit_id}/offer")
async def offer(
    visit_id: str, body: AssistantOffer, request: Request, services: ServicesDep
) -> AssistantAnswer:
    """Connect the participant's microphone to the speech assistant: live captions, or the
    symptom intake by voice (patients)."""
    try:
        participant, visit = await participant_for(services.database, request.cookies, visit_id)
    except NotAParticipant as refusal:
        raise HTTPException(STATUS_FOR_REFUSAL[refusal.kind], str(refusal)) from None
    if not services.speech.enabled:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "speech is off on this server")
    try:
        engine = await services.speech.engine(body.language)
    except VoiceError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error)) from None
    behaviour: VoiceIntake | None = None
    consumer: EventConsumer
    if body.mode == "intake":
        if participant.role != "patient":
            raise HTTPException(status.HTTP_403_FORBIDDEN, "the intake is for the patient")
        behaviour = VoiceIntake(
            IntakeSessions(services.intake, services.database, services.hub), visit_id
        )
        consumer = behaviour
    else:
        consumer = CaptionRelay(
            services.hub,
            visit_id,
            participant,
            engine.info,
            call_started_at=visit.started_at,
            sink=services.caption_sink,
        )
    try:
        peer, answer = await services.assistants.open(
            AssistantKey(visit_id, participant.peer_id, body.mode),
            participant,
            offer_sdp=body.sdp,
            language=body.language,
            phrases=None,
            consumer=consumer,
        )
    except TooManyAssistants as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None
    except VoiceError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error)) from None
    if behaviour is not None:
        behaviour.attach(peer)
    info = engine.info
    return AssistantAnswer(sdp=answer, engine=info.engine, model=info.model, language=info.language)
