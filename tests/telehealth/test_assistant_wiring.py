"""The assistant's behaviours are built outside the route and attached before media flows:
each mode gets its behaviour, the app has one set of intake sessions, and an offer that
cannot be answered leaves no peer and no worker behind. Real server, real Whisper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from signaling.peers import PeerInfo
from telehealth.api.intake import get_intake_sessions
from telehealth.assistant.channel_messages import NAVIGATOR_MESSAGES
from telehealth.assistant.intake_voice import VoiceIntake
from telehealth.assistant.navigator import VoiceNavigator
from telehealth.assistant.sessions import AssistantKey
from telehealth.assistant.wiring import AssistantRequest, behaviour_for
from telehealth.navigation import VoicePreferences
from telehealth.storage.models import Visit
from tests.telehealth.test_websocket import Clinic, speech_clinic
from voice.errors import VoiceError

pytestmark = pytest.mark.slow

PATIENT = PeerInfo(peer_id="p-1", role="patient", name="Jo")
PREFERENCES = VoicePreferences(180, 1.0)


@pytest_asyncio.fixture
async def clinic(tmp_path: Path) -> AsyncIterator[Clinic]:
    async with speech_clinic(tmp_path) as clinic:
        yield clinic


async def _visit(clinic: Clinic) -> Visit:
    visit_id, _ = await clinic.new_visit(await clinic.login("ada@clinic.example"))
    async with clinic.app.state.services.database.session() as session:
        visit = (await session.scalars(select(Visit).where(Visit.id == visit_id))).one()
    return visit


@pytest.mark.asyncio
async def test_each_mode_gets_its_behaviour_and_the_app_one_set_of_intake_sessions(
    clinic: Clinic,
) -> None:
    services = clinic.app.state.services
    visit = await _visit(clinic)
    engine = (await services.speech.engine()).info

    intake = behaviour_for(
        services, visit, PATIENT, engine, AssistantRequest("intake", "join", PREFERENCES)
    )
    assert isinstance(intake.worker, VoiceIntake)
    assert intake.worker.sessions is services.intake_sessions
    assert get_intake_sessions(services) is services.intake_sessions  # the typed intake too
    assert (intake.phrases, intake.client_messages) == (None, None)

    commands = behaviour_for(
        services, visit, PATIENT, engine, AssistantRequest("commands", "waiting", PREFERENCES)
    )
    assert isinstance(commands.worker, VoiceNavigator)
    assert commands.phrases == commands.worker.phrases() and commands.phrases
    assert commands.client_messages is NAVIGATOR_MESSAGES

    captions = behaviour_for(
        services, visit, PATIENT, engine, AssistantRequest("captions", "call", PREFERENCES)
    )
    assert (captions.worker, captions.phrases, captions.client_messages) == (None, None, None)


@pytest.mark.asyncio
async def test_an_offer_that_cannot_be_answered_leaves_no_peer_and_no_worker(
    clinic: Clinic,
) -> None:
    services = clinic.app.state.services
    visit = await _visit(clinic)
    engine = await services.speech.engine()
    behaviour = behaviour_for(
        services, visit, PATIENT, engine.info, AssistantRequest("intake", "join", PREFERENCES)
    )
    assert isinstance(behaviour.worker, VoiceIntake)
    with pytest.raises((VoiceError, ValueError)):
        await services.assistants.open(
            AssistantKey(visit.id, PATIENT.peer_id, "intake"),
            PATIENT,
            engine=engine,
            offer_sdp="v=0\r\nthis is no session description\r\n",
            phrases=behaviour.phrases,
            consumer=behaviour.consumer,
            worker=behaviour.worker,
        )
    # The worker was attached before the offer was looked at, and ended with the peer.
    assert behaviour.worker.peer is not None and behaviour.worker.peer.closed
    await behaviour.worker.stop()
    assert len(services.assistants) == 0
