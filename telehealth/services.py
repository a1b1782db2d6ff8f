"""What the running app holds: opened in the lifespan, closed in it."""

from __future__ import annotations

from dataclasses import dataclass

from signaling.hub import RoomHub
from signaling.pubsub import EventLog
from telehealth.assistant.sessions import AssistantSessions
from telehealth.assistant.transcript_sink import TranscriptWriter
from telehealth.auth.sign_in import SignInGuards
from telehealth.intake_service.runtime import IntakeRuntime
from telehealth.intake_service.sessions import IntakeSessions
from telehealth.metrics import ServiceMetrics
from telehealth.realtime.chat import ChatRecorder
from telehealth.realtime.revocations import Revocations
from telehealth.settings import Settings
from telehealth.speech import SpeechService
from telehealth.storage import Database


@dataclass
class Services:
    settings: Settings
    database: Database
    secret_key: str
    events: EventLog
    hub: RoomHub
    speech: SpeechService
    assistants: AssistantSessions
    caption_sink: TranscriptWriter
    intake: IntakeRuntime
    # One for the app: the typed and the spoken intake store through the same sessions.
    intake_sessions: IntakeSessions
    chat: ChatRecorder
    sign_in: SignInGuards
    revocations: Revocations
    metrics: ServiceMetrics
