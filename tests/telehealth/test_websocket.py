"""The visit websocket against a real server: a call end to end, and every rejection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select, update
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from telehealth.clinicians import create_clinician
from telehealth.realtime import socket as socket_module
from telehealth.storage.models import ChatMessage, Session, Visit, VisitStatus
from tests.conftest import make_settings
from tests.telehealth.live_server import free_port, live_server

PASSWORD = "a long enough passphrase"


@dataclass
class Clinic:
    app: FastAPI
    base: str

    @property
    def ws_base(self) -> str:
        return self.base.replace("http://", "ws://")

    async def login(self, email: str) -> str:
        async with httpx.AsyncClient(base_url=self.base) as client:
            response = await client.post(
                "/api/auth/login", json={"email": email, "password": PASSWORD}
            )
            assert response.status_code == 200
            return response.cookies["th_clinician"]

    async def new_visit(self, clinician_cookie: str) -> tuple[str, str]:
        async with httpx.AsyncClient(
            base_url=self.base, cookies={"th_clinician": clinician_cookie}
        ) as client:
            response = await client.post(
                "/api/visits", json={"scheduled_at": datetime.now(UTC).isoformat()}
            )
            body = response.json()
            return body["visit"]["id"], body["invite_url"].split("#invite=")[1]

    async def patient(self, invite: str, name: str = "Jo") -> str:
        async with httpx.AsyncClient(base_url=self.base) as client:
            response = await client.post(
                "/api/patient/session", json={"invite": invite, "display_name": name}
            )
            assert response.status_code == 200, response.text
            return response.cookies["th_patient"]

    async def visit_status(self, visit_id: str, expected: VisitStatus) -> VisitStatus:
        """The stored status, once it is `expected` (it is written just after the event)."""
        async with asyncio.timeout(5):
            while True:
                async with self.app.state.services.database.session() as session:
                    visit = await session.get(Visit, visit_id)
                    assert visit is not None
                    if visit.status == expected:
                        return visit.status
                await asyncio.sleep(0.02)

    def socket(self, visit_id: str, cookies: dict[str, str], origin: str | None = None) -> Any:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        return connect(
            f"{self.ws_base}/ws/visits/{visit_id}",
            additional_headers=headers,
            origin=origin or self.base,
            compression=None,
            open_timeout=5,
        )  # type: ignore[arg-type]


@asynccontextmanager
async def speech_clinic(tmp_path: Path, **overrides: Any) -> AsyncIterator[Clinic]:
    """A live server with speech on (the model loaded before any clock matters) and one
    clinician, Dr Ada (ada@clinic.example)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(
        tmp_path, port=port, public_base_url=base, speech_engine="auto", **overrides
    )
    async with live_server(settings) as app:
        await app.state.services.speech.engine()
        async with app.state.services.database.session() as session:
            await create_clinician(
                session, email="ada@clinic.example", display_name="Dr Ada", password=PASSWORD
            )
        yield Clinic(app=app, base=base)


@pytest_asyncio.fixture
async def clinic(tmp_path: Path) -> AsyncIterator[Clinic]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(tmp_path, port=port, public_base_url=base)
    async with live_server(settings) as app:
        async with app.state.services.database.session() as session:
            for email in ("ada@clinic.example", "bo@clinic.example"):
                await create_clinician(
                    session, email=email, display_name=email[:2].title(), password=PASSWORD
                )
        yield Clinic(app=app, base=base)


async def hello(ws: ClientConnection, **extra: Any) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "hello", "version": 1, **extra}))
    return await next_message(ws, "welcome")


async def next_message(ws: ClientConnection, kind: str, within_s: float = 5) -> dict[str, Any]:
    async with asyncio.timeout(within_s):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message  # type: ignore[no-any-return]


async def close_code(ws: ClientConnection, within_s: float = 5) -> int | None:
    async with asyncio.timeout(within_s):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


async def stored_chat(clinic: Clinic, visit_id: str) -> list[ChatMessage]:
    """The visit's stored chat, once there is some (it is written just after delivery)."""
    for _ in range(250):
        async with clinic.app.state.services.database.session() as session:
            query = select(ChatMessage).where(ChatMessage.visit_id == visit_id)
            if lines := list((await session.execute(query)).scalars()):
                return lines
        await asyncio.sleep(0.02)
    return []


@pytest.mark.asyncio
async def test_a_call_end_to_end_updates_the_visit(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    patient = await clinic.patient(invite)

    async with clinic.socket(visit_id, {"th_patient": patient}) as p_ws:
        welcome = await hello(p_ws)
        assert welcome["state"] == "waiting"
        assert (await next_message(p_ws, "queue"))["position"] == 1
        assert await clinic.visit_status(visit_id, VisitStatus.waiting) == VisitStatus.waiting
        patient_id = welcome["peer_id"]

        async with clinic.socket(visit_id, {"th_clinician": ada}) as c_ws:
            c_welcome = await hello(c_ws)
            assert c_welcome["state"] == "in_room"
            await c_ws.send(json.dumps({"type": "admit", "peer_id": patient_id}))
            await next_message(p_ws, "admitted")
            assert await clinic.visit_status(visit_id, VisitStatus.in_call) == VisitStatus.in_call

            await c_ws.send(json.dumps({"type": "offer", "sdp": "v=0 offer", "to": patient_id}))
            offer = await next_message(p_ws, "offer")
            assert offer["sdp"] == "v=0 offer" and offer["from"] == c_welcome["peer_id"]
            await p_ws.send(json.dumps({"type": "chat", "text": "hello doctor"}))
            assert (await next_message(c_ws, "chat"))["text"] == "hello doctor"
            # Chat is part of the visit record.
            lines = await stored_chat(clinic, visit_id)
            assert [(line.sender_role, line.text) for line in lines] == [
                ("patient", "hello doctor")
            ]

            await c_ws.send(json.dumps({"type": "end_call"}))
            await next_message(p_ws, "call_ended")
            assert await close_code(p_ws) == 1000
    assert await clinic.visit_status(visit_id, VisitStatus.ended) == VisitStatus.ended
    # An ended visit cannot be joined again.
    async with clinic.socket(visit_id, {"th_clinician": ada}) as again:
        assert await close_code(again) == 4410


async def _other_visit_keeps_working(clinic: Clinic, ada: str) -> tuple[ClientConnection, str]:
    visit_id, _ = await clinic.new_visit(ada)
    ws = await clinic.socket(visit_id, {"th_clinician": ada}).__aenter__()
    await hello(ws)
    return ws, visit_id


async def _assert_alive(ws: ClientConnection) -> None:
    await ws.send(json.dumps({"type": "ping"}))
    await next_message(ws, "pong")


@pytest.mark.asyncio
async def test_every_rejection_has_its_close_code_and_spares_other_visits(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    bo = await clinic.login("bo@clinic.example")
    bystander, _ = await _other_visit_keeps_working(clinic, ada)
    visit_id, invite = await clinic.new_visit(ada)
    other_visit, other_invite = await clinic.new_visit(ada)
    patient = await clinic.patient(invite)

    cases: list[tuple[str, dict[str, str], str | None, int]] = [
        ("foreign origin", {"th_patient": patient}, "http://evil.example", 4403),
        ("no token", {}, None, 4401),
        ("unknown token", {"th_patient": "forged-token-value"}, None, 4401),
        ("token of another visit", {"th_patient": await clinic.patient(other_invite)}, None, 4403),
        ("clinician of another clinic", {"th_clinician": bo}, None, 4403),
    ]
    for label, cookies, origin, expected in cases:
        async with clinic.socket(visit_id, cookies, origin=origin) as ws:
            assert await close_code(ws) == expected, label
        await _assert_alive(bystander)

    # Expired session: same cookie, its session now in the past.
    async with clinic.app.state.services.database.session() as session:
        await session.execute(
            update(Session)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
            .where(Session.visit_id == visit_id)
        )
    async with clinic.socket(visit_id, {"th_patient": patient}) as ws:
        assert await close_code(ws) == 4401
    await _assert_alive(bystander)

    fresh = await clinic.patient(invite, "Jo again")
    # Oversize message: closed with 1009.
    async with clinic.socket(visit_id, {"th_patient": fresh}) as ws:
        await hello(ws)
        await ws.send(json.dumps({"type": "chat", "text": "x" * (70 * 1024)}))
        assert await close_code(ws) == 1009
    await _assert_alive(bystander)

    # A malformed message gets an error reply and the connection lives on.
    async with clinic.socket(visit_id, {"th_patient": fresh}) as ws:
        await hello(ws)
        await ws.send("{not json")
        error = await next_message(ws, "error")
        assert error["code"] == "bad_message"
        await _assert_alive(ws)

    # Flood: closed with 1008.
    async with clinic.socket(visit_id, {"th_patient": fresh}) as ws:
        await hello(ws)
        for _ in range(300):
            await ws.send(json.dumps({"type": "ping"}))
        assert await close_code(ws) == 1008
    await _assert_alive(bystander)

    # A first message that is not hello.
    async with clinic.socket(visit_id, {"th_patient": fresh}) as ws:
        await ws.send(json.dumps({"type": "ping"}))
        assert await close_code(ws) == 4400
    await _assert_alive(bystander)
    await bystander.close()
    assert other_visit != visit_id


@pytest.mark.asyncio
async def test_an_open_connection_ends_with_its_session(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket_module, "SESSION_CHECK_S", 0.2)
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    patient = await clinic.patient(invite)
    async with (
        clinic.socket(visit_id, {"th_clinician": ada}) as doctor,
        clinic.socket(visit_id, {"th_patient": patient}) as waiting,
    ):
        await hello(doctor)
        await hello(waiting)
        # Signing out elsewhere ends the session: the open call closes with 4401.
        async with httpx.AsyncClient(base_url=clinic.base, cookies={"th_clinician": ada}) as c:
            assert (await c.post("/api/auth/logout")).status_code == 204
        assert await close_code(doctor, within_s=5) == 4401
        await _assert_alive(waiting)  # the patient's session still holds

        # The patient's session expires while connected: closed the same way.
        async with clinic.app.state.services.database.session() as session:
            await session.execute(
                update(Session)
                .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
                .where(Session.visit_id == visit_id)
            )
        assert await close_code(waiting, within_s=5) == 4401
