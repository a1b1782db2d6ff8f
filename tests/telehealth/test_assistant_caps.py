"""Assistant peers are capped per visit and per person, checked and taken in one step:
offers arriving together never exceed the caps, and another visit still gets a peer. Real
server, real Whisper, real aiortc peers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiortc import RTCPeerConnection

from signaling.peers import PeerInfo
from telehealth.assistant.sessions import AssistantKey, AssistantSessions, Mode, TooManyAssistants
from tests.telehealth.test_assistant_offer import offer_sdp, post_offer
from tests.telehealth.test_websocket import Clinic, speech_clinic
from voice.peer_events import PeerEvent

pytestmark = pytest.mark.slow

MODES: tuple[Mode, ...] = ("captions", "commands", "intake")


@pytest_asyncio.fixture
async def clinic(tmp_path: Path) -> AsyncIterator[Clinic]:
    async with speech_clinic(tmp_path) as clinic:
        yield clinic


async def ignore(_event: PeerEvent) -> None:
    return None


async def offers(tmp_path: Path, count: int) -> tuple[list[RTCPeerConnection], list[str]]:
    made = [await offer_sdp(tmp_path) for _ in range(count)]
    return [pc for pc, _ in made], [sdp for _, sdp in made]


async def open_peer(
    clinic: Clinic, visit_id: str, participant: PeerInfo, mode: Mode, sdp: str
) -> bool:
    services = clinic.app.state.services
    try:
        await services.assistants.open(
            AssistantKey(visit_id, participant.peer_id, mode),
            participant,
            engine=await services.speech.engine(),
            offer_sdp=sdp,
            phrases=None,
            consumer=ignore,
        )
    except TooManyAssistants:
        return False
    return True


@pytest.mark.asyncio
async def test_concurrent_offers_never_exceed_the_caps(clinic: Clinic, tmp_path: Path) -> None:
    assistants: AssistantSessions = clinic.app.state.services.assistants
    assert (assistants.per_visit, assistants.per_person) == (4, 3)
    ada = await clinic.login("ada@clinic.example")
    visit_id, _ = await clinic.new_visit(ada)
    other_visit, _ = await clinic.new_visit(ada)
    pcs, sdps = await offers(tmp_path, 16)
    try:
        # One patient behind twelve sessions (as one link opened again and again would
        # give), every mode at once: at most three peers are theirs.
        patients = [PeerInfo(peer_id=f"p-session{n}", role="patient", name="Jo") for n in range(12)]
        opened = await asyncio.gather(
            *(
                open_peer(clinic, visit_id, patient, MODES[n % 3], sdps[n])
                for n, patient in enumerate(patients)
            )
        )
        assert sum(opened) == 3
        assert assistants.count(visit_id, "patient") == 3
        assert assistants.count(visit_id) == 3

        # The clinician's captions take the visit's fourth place; nobody gets a fifth.
        doctor = PeerInfo(peer_id="c-ada", role="clinician", name="Dr Ada")
        assert await open_peer(clinic, visit_id, doctor, "captions", sdps[12])
        interpreter = PeerInfo(peer_id="c-bo", role="clinician", name="Bo")
        assert not await open_peer(clinic, visit_id, interpreter, "captions", sdps[13])
        assert assistants.count(visit_id) == 4
        # Over HTTP the refusal is a 503 that says why.
        refused = await post_offer(
            clinic, visit_id, {"sdp": sdps[13], "mode": "captions"}, {"th_clinician": ada}
        )
        assert refused.status_code == 503
        assert refused.json()["detail"] == "this visit has as many speech assistants as it may"

        # Another visit is not held up by the full one.
        other_patient = PeerInfo(peer_id="p-elsewhere", role="patient", name="Kim")
        assert await open_peer(clinic, other_visit, other_patient, "commands", sdps[14])
        assert assistants.count(other_visit) == 1

        # A participant whose session ended gives their places back.
        open_patients = [p for p, ok in zip(patients, opened, strict=True) if ok]
        for patient in open_patients:
            await assistants.close_participant(visit_id, patient.peer_id)
        assert assistants.count(visit_id, "patient") == 0
        assert await open_peer(clinic, visit_id, patients[0], "intake", sdps[15])
    finally:
        await asyncio.gather(*(pc.close() for pc in pcs))
