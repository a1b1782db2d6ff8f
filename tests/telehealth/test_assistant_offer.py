"""Who may connect to which assistant: voice guidance on an invite before the session, the
invite preview, and every refusal with its status. Real server, real Whisper, real aiortc."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import pytest_asyncio
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer

from tests.telehealth.test_websocket import Clinic, speech_clinic
from voice.audio import write_wav

pytestmark = pytest.mark.slow


@pytest_asyncio.fixture
async def clinic(tmp_path: Path) -> AsyncIterator[Clinic]:
    async with speech_clinic(tmp_path) as clinic:
        yield clinic


PAGE_CHANNELS: dict[RTCPeerConnection, RTCDataChannel] = {}  # each offer's "assistant" channel


async def offer_sdp(tmp_path: Path) -> tuple[RTCPeerConnection, str]:
    silence = tmp_path / "silence.wav"
    write_wav(silence, np.zeros(16000, np.int16).tobytes(), 16000)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    player = MediaPlayer(str(silence))
    assert player.audio is not None
    pc.addTrack(player.audio)
    PAGE_CHANNELS[pc] = pc.createDataChannel("assistant")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


async def post_offer(
    clinic: Clinic, visit_id: str, body: dict[str, Any], cookies: dict[str, str] | None = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=clinic.base, cookies=cookies or {}) as client:
        return await client.post(f"/api/assistant/{visit_id}/offer", json=body, timeout=30)


@pytest.mark.asyncio
async def test_voice_guidance_connects_on_an_invite_and_refuses_the_rest(
    clinic: Clinic, tmp_path: Path
) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    other_visit, other_invite = await clinic.new_visit(ada)
    pc, sdp = await offer_sdp(tmp_path)
    try:
        commands = {"sdp": sdp, "mode": "commands", "page": "join", "invite": invite}
        answered = await post_offer(clinic, visit_id, {**commands, "rate_wpm": 250})
        assert answered.status_code == 200, answered.text
        assert "a=candidate" in answered.json()["sdp"]
        assert "set-cookie" not in answered.headers  # looked at, not redeemed

        refusals = [
            ({**commands, "invite": "x" * 40}, None, 401),  # no such invite
            ({**commands, "invite": other_invite}, None, 403),  # another visit's invite
            ({**commands, "mode": "captions"}, None, 401),  # captions need a session
            ({**commands, "mode": "intake"}, None, 401),
            ({**commands, "invite": None}, None, 401),
            ({"sdp": sdp, "mode": "commands"}, {"th_clinician": ada}, 403),  # for patients
            ({**commands, "rate_wpm": 2000}, None, 422),
            ({**commands, "volume": 0.0}, None, 422),
            ({**commands, "page": "elsewhere"}, None, 422),
        ]
        for body, cookies, expected in refusals:
            response = await post_offer(clinic, visit_id, body, cookies)
            assert response.status_code == expected, (body, response.text)
            assert response.json()["detail"]
    finally:
        await pc.close()
    assert other_visit != visit_id


@pytest.mark.asyncio
async def test_the_invite_preview_names_the_visit_without_opening_it(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    async with httpx.AsyncClient(base_url=clinic.base) as client:
        preview = await client.post("/api/patient/invite", json={"invite": invite})
        assert preview.status_code == 200, preview.text
        assert preview.json()["visit_id"] == visit_id
        assert preview.json()["clinician_name"] == "Dr Ada"
        assert "set-cookie" not in preview.headers
        assert (await client.get("/api/patient/visit")).status_code == 401
        unknown = await client.post("/api/patient/invite", json={"invite": "y" * 40})
        assert unknown.status_code == 403
        assert "not valid" in unknown.json()["detail"]
        short = await client.post("/api/patient/invite", json={"invite": "short"})
        assert short.status_code == 422


async def eventually(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_the_page_talks_typed_messages_and_gets_events_only_when_subscribed(
    clinic: Clinic, tmp_path: Path
) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    pc, sdp = await offer_sdp(tmp_path)
    page = PAGE_CHANNELS.pop(pc)
    received: list[dict[str, Any]] = []
    page.on("message", lambda text: received.append(json.loads(text)))

    def of_type(kind: str) -> list[dict[str, Any]]:
        return [message for message in received if message["type"] == kind]

    try:
        body = {"sdp": sdp, "mode": "commands", "page": "join", "invite": invite}
        answered = await post_offer(clinic, visit_id, body)
        assert answered.status_code == 200, answered.text
        await pc.setRemoteDescription(
            RTCSessionDescription(sdp=answered.json()["sdp"], type="answer")
        )
        await eventually(lambda: page.readyState == "open", 20)

        # Unknown and invalid messages are refused on the channel; the connection goes on.
        page.send(json.dumps({"type": "intake_turn", "prompt": "x"}))  # not the page's to send
        page.send(json.dumps({"type": "ask", "id": "q", "expects": "essay", "prompt": "Why?"}))
        await eventually(lambda: len(of_type("error")) == 2, 20)
        assert [m["code"] for m in of_type("error")] == ["unknown_type", "invalid"]

        # Speech is not reported before the page subscribes...
        page.send(json.dumps({"type": "say", "text": "One."}))
        await asyncio.sleep(3)
        assert [m["type"] for m in received] == ["error", "error"]
        # ...and only what it subscribed to afterwards.
        page.send(json.dumps({"type": "subscribe", "events": ["spoken"]}))
        page.send(json.dumps({"type": "say", "text": "Two."}))
        await eventually(lambda: any(m["text"] == "Two." for m in of_type("spoken")), 60)
        assert not of_type("speaking") and not of_type("final")
        assert pc.connectionState == "connected"
    finally:
        await pc.close()
