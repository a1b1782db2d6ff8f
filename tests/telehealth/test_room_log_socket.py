"""The room log through the websocket: a waiting patient cannot fill it, captions never
enter it, frames are bounded, and it is deleted once the call's end is stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection

from signaling import Caption, EventLog
from signaling.messages import MAX_FRAME_BYTES
from signaling.pubsub import MemoryEventLog
from signaling.pubsub.base import MAX_ENTRY_BYTES
from signaling.pubsub.redis_streams import RedisEventLog
from signaling.server_messages import MAX_SDP_CHARS
from telehealth.storage.models import VisitStatus
from tests.conftest import make_settings
from tests.services import REDIS_URL
from tests.telehealth.live_server import free_port, live_server
from tests.telehealth.test_websocket import (
    PASSWORD,
    Clinic,
    close_code,
    hello,
    next_message,
)

# An offer as large as a frame may be: the biggest thing a client can send.
SDP = ("v=0\r\n" + "a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host\r\n" * 600)[
    :MAX_SDP_CHARS
]


def big_offer(to: str) -> str:
    frame = json.dumps({"type": "offer", "sdp": SDP, "to": to})
    assert MAX_FRAME_BYTES - 2000 < len(frame) <= MAX_FRAME_BYTES
    return frame


@pytest_asyncio.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def clinic(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Clinic]:
    from telehealth.clinicians import create_clinician

    overrides: dict[str, object] = {}
    if request.param == "redis":
        if not REDIS_URL:
            pytest.skip("no Redis server")
        overrides["redis_url"] = REDIS_URL
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(tmp_path, port=port, public_base_url=base, **overrides)
    async with live_server(settings) as app:
        async with app.state.services.database.session() as session:
            await create_clinician(
                session, email="ada@clinic.example", display_name="Dr Ada", password=PASSWORD
            )
        yield Clinic(app=app, base=base)


def test_the_room_log_bounds_are_settings(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, room_log_max_bytes=2**20, room_log_max_entries=500)
    assert (settings.room_log_max_bytes, settings.room_log_max_entries) == (2**20, 500)
    assert make_settings(tmp_path).room_log_max_bytes == 8 * 1024 * 1024
    with pytest.raises(ValidationError, match="room_log_max_bytes"):
        make_settings(tmp_path, room_log_max_bytes=MAX_ENTRY_BYTES - 1)


@pytest.mark.asyncio
async def test_the_app_bounds_its_room_log_by_the_settings(clinic: Clinic) -> None:
    events = room_log(clinic)
    assert isinstance(events, MemoryEventLog | RedisEventLog)
    settings = clinic.app.state.services.settings
    assert events.max_bytes == settings.room_log_max_bytes
    assert events.max_entries == settings.room_log_max_entries


def room_log(clinic: Clinic) -> EventLog:
    events: EventLog = clinic.app.state.services.events
    return events


async def assert_silent(ws: ClientConnection, seconds: float = 0.3) -> None:
    """Nothing arrives but pongs (the clinician was told nothing of the refused frames)."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                message = json.loads(await ws.recv())
                assert message["type"] == "pong", message
    except TimeoutError:
        pass


@pytest.mark.asyncio
async def test_a_waiting_patient_reaches_neither_the_room_nor_its_log(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    patient = await clinic.patient(invite)
    channel = f"visit:{visit_id}"
    async with (
        clinic.socket(visit_id, {"th_clinician": ada}) as doctor,
        clinic.socket(visit_id, {"th_patient": patient}) as waiting,
    ):
        c_welcome = await hello(doctor)
        await hello(waiting)
        await next_message(doctor, "peer_joined")
        logged = await room_log(clinic).retained_bytes(channel)
        assert 0 < logged < 10_000

        for frame in (
            big_offer(c_welcome["peer_id"]),
            json.dumps({"type": "chat", "text": "let me in " * 150}),
            json.dumps({"type": "ice", "candidate": {"candidate": "c"}, "to": "x"}),
        ):
            await waiting.send(frame)
            error = await next_message(waiting, "error")
            assert error["code"] == "not_in_room"
        await assert_silent(doctor)
        assert await room_log(clinic).retained_bytes(channel) == logged

        # What a waiting patient needs still works, and does reach the room.
        await waiting.send(json.dumps({"type": "media_state", "audio": False, "video": True}))
        await waiting.send(json.dumps({"type": "ping"}))
        await next_message(waiting, "pong")
        assert await room_log(clinic).retained_bytes(channel) > logged

        # Refused again and again: closed as a flood is (1008), without touching the log.
        logged = await room_log(clinic).retained_bytes(channel)
        for _ in range(25):
            await waiting.send(json.dumps({"type": "chat", "text": "let me in"}))
        assert await close_code(waiting) == 1008
        await asyncio.sleep(0.2)  # the disconnect is logged; nothing else is
        grown = await room_log(clinic).retained_bytes(channel) - logged
        assert grown < 2_000


@pytest.mark.asyncio
async def test_frames_are_bounded_for_signaling(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    patient = await clinic.patient(invite)
    async with (
        clinic.socket(visit_id, {"th_clinician": ada}) as doctor,
        clinic.socket(visit_id, {"th_patient": patient}) as p_ws,
    ):
        await hello(doctor)
        p_welcome = await hello(p_ws)
        await doctor.send(json.dumps({"type": "admit", "peer_id": p_welcome["peer_id"]}))
        await next_message(p_ws, "admitted")
        # A full-size SDP goes through...
        await doctor.send(big_offer(p_welcome["peer_id"]))
        assert (await next_message(p_ws, "offer"))["sdp"] == SDP
        # ...a frame past the bound closes the socket with 1009.
        await doctor.send(json.dumps({"type": "chat", "text": "x" * MAX_FRAME_BYTES}))
        assert await close_code(doctor) == 1009


@pytest.mark.asyncio
async def test_the_log_holds_no_captions_and_is_gone_after_call_end(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    patient = await clinic.patient(invite)  # who never consented to a transcript
    channel = f"visit:{visit_id}"
    hub = clinic.app.state.services.hub
    async with (
        clinic.socket(visit_id, {"th_clinician": ada}) as doctor,
        clinic.socket(visit_id, {"th_patient": patient}) as p_ws,
    ):
        await hello(doctor)
        p_welcome = await hello(p_ws)
        await doctor.send(json.dumps({"type": "admit", "peer_id": p_welcome["peer_id"]}))
        await next_message(p_ws, "admitted")
        logged = await room_log(clinic).retained_bytes(channel)
        for final in (False, True):
            caption = Caption(
                speaker=p_welcome["peer_id"],
                speaker_name="Jo",
                text="my chest has been tight since monday",
                final=final,
                segment_id="s-0",
                start_s=0.0,
                end_s=1.0,
            )
            await hub.inject_caption(visit_id, caption)
            shown = await next_message(doctor, "caption")
            assert (shown["text"], shown["final"]) == (caption.text, final)
        assert await room_log(clinic).retained_bytes(channel) == logged

        await doctor.send(json.dumps({"type": "end_call"}))
        await next_message(p_ws, "call_ended")
        assert await close_code(p_ws) == 1000
        assert await close_code(doctor) == 1000
    assert await clinic.visit_status(visit_id, VisitStatus.ended) == VisitStatus.ended
    for _ in range(250):  # deleted by the writer just after it stored the end
        if await room_log(clinic).retained_bytes(channel) == 0:
            break
        await asyncio.sleep(0.02)
    async with room_log(clinic).subscribe(channel) as entries:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await anext(entries)
    # The ended visit still cannot be joined: the app refuses it before any room exists.
    async with clinic.socket(visit_id, {"th_clinician": ada}) as again:
        assert await close_code(again) == 4410
    assert await room_log(clinic).retained_bytes(channel) == 0
