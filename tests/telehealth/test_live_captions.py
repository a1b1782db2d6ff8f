"""Live captions end to end: a participant's microphone over WebRTC to the speech assistant,
captions to the other participant's websocket, and into the transcript only with consent."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer
from sqlalchemy import select

from telehealth.storage.models import TranscriptSegment
from tests.telehealth.test_websocket import Clinic, hello, next_message, speech_clinic

pytestmark = pytest.mark.slow
SENTENCE = "I have had a sore throat since Monday."


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("speech")
    raw = folder / "raw.wav"
    wav = folder / "sentence.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(raw), SENTENCE], check=True, timeout=30)
    # One second of silence before and two after, at the rate browsers send.
    subprocess.run(
        ["sox", str(raw), "-r", "48000", "-c", "1", str(wav), "pad", "1", "2"],
        check=True,
        timeout=30,
    )
    return wav


@pytest_asyncio.fixture
async def clinic(tmp_path: Path) -> AsyncIterator[Clinic]:
    async with speech_clinic(tmp_path) as clinic:
        yield clinic


async def speak_to_assistant(
    base: str, visit_id: str, patient: str, wav: Path
) -> RTCPeerConnection:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    player = MediaPlayer(str(wav))
    assert player.audio is not None
    pc.addTrack(player.audio)
    pc.createDataChannel("assistant")
    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(base_url=base, cookies={"th_patient": patient}) as client:
        response = await client.post(
            f"/api/assistant/{visit_id}/offer",
            json={"sdp": pc.localDescription.sdp, "type": "offer", "mode": "captions"},
            timeout=30,
        )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["engine"] == "whisper" and answer["language"] == "en"
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    return pc


async def call_with_captions(
    clinic: Clinic, wav: Path, *, consent: bool
) -> tuple[str, dict[str, Any]]:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    patient = await clinic.patient(invite)
    async with httpx.AsyncClient(base_url=clinic.base, cookies={"th_patient": patient}) as c:
        assert (
            await c.put("/api/patient/consent", json={"transcript": consent})
        ).status_code == 200
    async with (
        clinic.socket(visit_id, {"th_patient": patient}) as p_ws,
        clinic.socket(visit_id, {"th_clinician": ada}) as c_ws,
    ):
        welcome = await hello(p_ws)
        await hello(c_ws)
        await c_ws.send(json.dumps({"type": "admit", "peer_id": welcome["peer_id"]}))
        await next_message(p_ws, "admitted")
        pc = await speak_to_assistant(clinic.base, visit_id, patient, wav)
        try:
            async with asyncio.timeout(30):
                while True:
                    caption = await next_message(c_ws, "caption", within_s=30)
                    if caption["final"]:
                        break
        finally:
            await pc.close()
    return visit_id, caption


async def stored_segments(
    clinic: Clinic, visit_id: str, *, expected: int = 0, within_s: float = 10.0
) -> list[TranscriptSegment]:
    """The visit's stored segments, once there are `expected` of them (or the time is up).

    A final is published first and stored right after (captions never wait for the
    database), so the other side can see it a moment before it is in the transcript."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        async with clinic.app.state.services.database.session() as session:
            result = await session.execute(
                select(TranscriptSegment).where(TranscriptSegment.visit_id == visit_id)
            )
            segments = list(result.scalars())
        if len(segments) >= expected or asyncio.get_running_loop().time() > deadline:
            return segments
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_captions_reach_the_other_side_and_the_transcript(
    clinic: Clinic, speech_wav: Path
) -> None:
    visit_id, caption = await call_with_captions(clinic, speech_wav, consent=True)
    text = caption["text"].lower()
    assert "sore throat" in text and "monday" in text, caption
    assert caption["speaker_name"] == "Jo"
    assert 0 <= caption["start_s"] < caption["end_s"] < 30
    (segment,) = await stored_segments(clinic, visit_id, expected=1)
    assert segment.text == caption["text"]
    assert segment.speaker_role == "patient"
    assert segment.engine == "whisper" and segment.words


@pytest.mark.asyncio
async def test_without_consent_captions_show_but_nothing_is_stored(
    clinic: Clinic, speech_wav: Path
) -> None:
    visit_id, caption = await call_with_captions(clinic, speech_wav, consent=False)
    assert "sore throat" in caption["text"].lower()
    # Watch for a wrongful write as long as a right one is given to appear.
    assert await stored_segments(clinic, visit_id, expected=1) == []
