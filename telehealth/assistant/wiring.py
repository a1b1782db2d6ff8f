"""What an assistant peer does in each mode, built before any media flows.

A mode's behaviour is the consumer of the peer's events (captions relay, voice intake,
voice navigation), the phrases the recognizer starts with, and the page messages the peer
accepts. The route only checks who is asking; `AssistantSessions.open` attaches the
behaviour's worker to the peer as soon as the peer exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from signaling.peers import PeerInfo
from telehealth.assistant.behaviour import QueuedBehaviour
from telehealth.assistant.captions import CaptionRelay
from telehealth.assistant.channel_messages import NAVIGATOR_MESSAGES
from telehealth.assistant.intake_voice import VoiceIntake
from telehealth.assistant.navigator import VoiceNavigator
from telehealth.assistant.sessions import EventConsumer, Mode
from telehealth.navigation import Page, VoicePreferences
from telehealth.storage.models import Visit
from voice.peer_messages import ChannelMessage
from voice.recognition import EngineInfo

if TYPE_CHECKING:
    from telehealth.services import Services


@dataclass(frozen=True, slots=True)
class AssistantRequest:
    """What the person asked the assistant for."""

    mode: Mode
    page: Page
    preferences: VoicePreferences


@dataclass(frozen=True, slots=True)
class Behaviour:
    consumer: EventConsumer
    # A behaviour with a worker of its own, attached to the peer before media flows.
    worker: QueuedBehaviour[Any] | None = None
    phrases: list[str] | None = None
    client_messages: Mapping[str, type[ChannelMessage]] | None = None


def behaviour_for(
    services: Services,
    visit: Visit,
    participant: PeerInfo,
    engine: EngineInfo,
    wanted: AssistantRequest,
) -> Behaviour:
    """The behaviour of `wanted.mode` for `participant` of `visit`, its events counted by
    the metrics (dropped audio; caption latency)."""
    behaviour = _unobserved(services, visit, participant, engine, wanted)
    consumer = services.metrics.observing(behaviour.consumer, captions=wanted.mode == "captions")
    return replace(behaviour, consumer=consumer)


def _unobserved(
    services: Services,
    visit: Visit,
    participant: PeerInfo,
    engine: EngineInfo,
    wanted: AssistantRequest,
) -> Behaviour:
    if wanted.mode == "intake":
        intake = VoiceIntake(services.intake_sessions, visit.id, preferences=wanted.preferences)
        return Behaviour(intake, worker=intake)
    if wanted.mode == "commands":
        navigator = VoiceNavigator(
            wanted.page,
            wake_phrase=services.settings.wake_phrase,
            preferences=wanted.preferences,
            visit_id=visit.id,
        )
        return Behaviour(
            navigator,
            worker=navigator,
            phrases=navigator.phrases(),
            client_messages=NAVIGATOR_MESSAGES,
        )
    relay = CaptionRelay(
        services.hub,
        visit.id,
        participant,
        engine,
        call_started_at=visit.started_at,
        sink=services.caption_sink,
    )
    return Behaviour(relay)
