"""The symptom intake by voice, end to end: an aiortc client hears each question (the
prompt's text arrives on the data channel, its speech on the return track) and answers with
synthesized speech; the stored QuestionnaireResponse equals the one the form gives for the
same answers."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import pytest_asyncio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from telehealth.assistant.behaviour import TROUBLE
from tests.telehealth.intake_app.sample import (
    FORM_ANSWERS,
    SPOKEN,
    answers_by_link_id,
    without_identity,
)
from tests.telehealth.intake_app.test_voice_intake_guard import failing_intake_storage
from tests.telehealth.test_websocket import Clinic, speech_clinic
from voice.peer_speech import SpeechTrack, to_webrtc_audio

pytestmark = pytest.mark.slow


@pytest_asyncio.fixture
async def clinic(tmp_path: Path) -> AsyncIterator[Clinic]:
    # Fast speech, as many screen-reader users set it, keeps the dialogue short.
    async with speech_clinic(tmp_path, tts_rate_wpm=320) as clinic:
        yield clinic


def synthesize(text: str, folder: Path) -> np.ndarray:
    path = folder / "answer.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True, timeout=30)
    raw = path.read_bytes()
    pcm = raw[raw.index(b"data") + 8 :]
    return to_webrtc_audio(pcm, 22050)


class Ear:
    """Measures how much non-silent audio the return track carries."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.loud_frames = 0
        self.task = asyncio.create_task(self._listen(track))

    async def _listen(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                samples = frame.to_ndarray().astype(np.float64)
                if np.sqrt(np.mean(samples**2)) > 300:
                    self.loud_frames += 1
        except MediaStreamError:
            return


async def answer_by_voice(base: str, patient: str, visit_id: str, folder: Path) -> list[str]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    mouth = SpeechTrack()
    pc.addTrack(mouth)
    channel = pc.createDataChannel("assistant")
    turns: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    ears: list[Ear] = []
    heard: list[str] = []
    finished: asyncio.Queue[str] = asyncio.Queue()

    @channel.on("open")
    def on_open() -> None:  # the test listens like a page that shows what was heard
        events = ["final", "not_understood", "spoken"]
        channel.send(json.dumps({"type": "subscribe", "events": events}))

    @channel.on("message")
    def on_message(message: str) -> None:
        payload = json.loads(message)
        if payload["type"] in ("final", "not_understood"):
            heard.append(f"{payload['type']}: {payload.get('text') or payload.get('heard')}")
        if payload["type"] == "spoken":
            finished.put_nowait(payload["text"])
        if payload["type"] == "intake_turn":
            turns.put_nowait(payload)

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        ears.append(Ear(track))

    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(base_url=base, cookies={"th_patient": patient}) as client:
        response = await client.post(
            f"/api/assistant/{visit_id}/offer",
            json={"sdp": pc.localDescription.sdp, "type": "offer", "mode": "intake"},
            timeout=30,
        )
    assert response.status_code == 200, response.text
    await pc.setRemoteDescription(RTCSessionDescription(sdp=response.json()["sdp"], type="answer"))
    prompts: list[str] = []
    expected: list[str] = []
    try:
        async with asyncio.timeout(240):
            while True:
                turn = await turns.get()
                prompts.append(turn["prompt"])
                if turn["done"]:
                    break
                stage, link_id = turn["stage"], turn["link_id"]
                if stage == "question":
                    reply, expected = SPOKEN[link_id]
                elif stage == "confirm":
                    # Like a patient: confirm only what was heard right.
                    heard_right = all(w in turn["prompt"].lower() for w in expected)
                    reply = "yes" if heard_right else "no"
                elif stage == "summary":
                    reply = "yes"
                else:
                    raise AssertionError(f"unexpected turn: {turn}")
                # Like a listener: answer once the question has finished playing.
                while await finished.get() != turn["prompt"]:
                    pass
                samples = synthesize(reply, folder)
                prompt = mouth.reserve(reply, interrupt=True)
                mouth.fill(prompt, samples)
        assert ears and ears[0].loud_frames > 100, "the questions were not heard"
    except TimeoutError:
        raise AssertionError(f"the dialogue stalled: prompts {prompts}, heard {heard}") from None
    finally:
        await pc.close()
    return prompts


@pytest.mark.asyncio
async def test_voice_intake_equals_the_form(clinic: Clinic, tmp_path: Path) -> None:
    ada = await clinic.login("ada@clinic.example")
    voice_visit, voice_invite = await clinic.new_visit(ada)
    form_visit, form_invite = await clinic.new_visit(ada)

    prompts = await answer_by_voice(
        clinic.base, await clinic.patient(voice_invite), voice_visit, tmp_path
    )
    assert len(prompts) >= len(SPOKEN)
    async with httpx.AsyncClient(base_url=clinic.base, cookies={"th_clinician": ada}) as c:
        by_voice = (await c.get(f"/api/visits/{voice_visit}/intake")).json()
    # The reason is free text, kept as recognized; the form types the same words.
    reason = answers_by_link_id(by_voice)["reason"]["answer"][0]["valueString"]
    assert "throat" in reason.lower()

    async with httpx.AsyncClient(
        base_url=clinic.base, cookies={"th_patient": await clinic.patient(form_invite)}
    ) as c:
        answers = {**FORM_ANSWERS, "reason": reason}
        submitted = await c.post("/api/patient/intake/form", json={"answers": answers})
        assert submitted.status_code == 200, submitted.text

    async with httpx.AsyncClient(base_url=clinic.base, cookies={"th_clinician": ada}) as c:
        by_form = (await c.get(f"/api/visits/{form_visit}/intake")).json()
    assert by_voice["status"] == "completed"
    assert without_identity(by_voice) == without_identity(by_form)


@pytest.mark.asyncio
async def test_a_database_failure_mid_intake_is_told_and_the_next_answer_works(
    clinic: Clinic, tmp_path: Path
) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    patient = await clinic.patient(invite)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    mouth = SpeechTrack()
    pc.addTrack(mouth)
    channel = pc.createDataChannel("assistant")
    turns: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    spoken: asyncio.Queue[str] = asyncio.Queue()

    @channel.on("open")
    def on_open() -> None:  # to know when each prompt has been heard in full
        channel.send(json.dumps({"type": "subscribe", "events": ["spoken"]}))

    @channel.on("message")
    def on_message(message: str) -> None:
        payload = json.loads(message)
        if payload["type"] == "intake_turn":
            turns.put_nowait(payload)
        elif payload["type"] == "spoken":
            spoken.put_nowait(payload["text"])

    async def heard_in_full(text: str) -> None:
        while await spoken.get() != text:
            pass

    def answer(words: str) -> None:
        mouth.fill(mouth.reserve(words, interrupt=True), synthesize(words, tmp_path))

    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(base_url=clinic.base, cookies={"th_patient": patient}) as c:
        response = await c.post(
            f"/api/assistant/{visit_id}/offer",
            json={"sdp": pc.localDescription.sdp, "type": "offer", "mode": "intake"},
            timeout=30,
        )
    assert response.status_code == 200, response.text
    await pc.setRemoteDescription(RTCSessionDescription(sdp=response.json()["sdp"], type="answer"))
    try:
        async with asyncio.timeout(180):
            first = await turns.get()
            assert first["link_id"] == "reason" and first["stage"] == "question"
            await heard_in_full(first["prompt"])
            async with failing_intake_storage(clinic.app.state.services.database):
                answer("I have a sore throat")
                trouble = await turns.get()
                # The page's status line says so, the keyboard is offered, and it is spoken.
                assert trouble["prompt"].startswith(TROUBLE)
                assert "say it again" in trouble["prompt"]
                assert trouble["offer_keyboard"] is True and trouble["link_id"] == "reason"
                await heard_in_full(trouble["prompt"])
            answer("I have a sore throat")
            confirm = await turns.get()
            assert confirm["stage"] == "confirm" and confirm["link_id"] == "reason"
            await heard_in_full(confirm["prompt"])
    finally:
        await pc.close()
