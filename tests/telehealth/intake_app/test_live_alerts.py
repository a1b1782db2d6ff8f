"""Red flags reach the clinician in the room live, as an `urgent_intake` status, from the
dialogue and from the form; the patient in the waiting room is not told."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection

from tests.conftest import make_settings
from tests.telehealth.live_server import free_port, live_server
from tests.telehealth.test_websocket import Clinic, hello, next_message

from .conftest import ADA, add_clinicians
from .sample import FORM_ANSWERS


@pytest_asyncio.fixture
async def clinic(tmp_path: Path) -> AsyncIterator[Clinic]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(tmp_path, port=port, public_base_url=base, emergency_number="112")
    async with live_server(settings) as app:
        await add_clinicians(app)
        yield Clinic(app=app, base=base)


async def urgent_status(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            status = await next_message(ws, "status")
            if status["event"] == "urgent_intake":
                return status


async def messages_until_pong(ws: ClientConnection) -> list[dict[str, Any]]:
    """Everything the room sent before answering a ping (the room handles events in order)."""
    await ws.send(json.dumps({"type": "ping"}))
    seen = []
    async with asyncio.timeout(5):
        while (message := json.loads(await ws.recv()))["type"] != "pong":
            seen.append(message)
    return seen


@pytest.mark.asyncio
async def test_red_flags_from_both_paths_alert_the_clinician_live(clinic: Clinic) -> None:
    ada = await clinic.login(ADA)
    visit_id, invite = await clinic.new_visit(ada)
    patient_cookie = await clinic.patient(invite)
    async with (
        clinic.socket(visit_id, {"th_clinician": ada}) as clinician_ws,
        clinic.socket(visit_id, {"th_patient": patient_cookie}) as patient_ws,
        httpx.AsyncClient(base_url=clinic.base, cookies={"th_patient": patient_cookie}) as patient,
    ):
        assert (await hello(clinician_ws))["state"] == "in_room"
        assert (await hello(patient_ws))["state"] == "waiting"

        # Voice path: thoughts of self-harm count the moment they are said.
        await patient.post("/api/patient/intake/dialogue/start")
        reply = await patient.post(
            "/api/patient/intake/dialogue/reply", json={"text": "honestly I want to end my life"}
        )
        turn = reply.json()
        assert turn["newFlags"] == ["self-harm"] and "call 112 now" in turn["prompt"]
        status = await urgent_status(clinician_ws)
        assert status["detail"] == "self-harm"

        # Keyboard path, same visit: the patient switches to the form. Only new flags alert.
        answers = {**FORM_ANSWERS, "severity": "10"}
        form = await patient.post("/api/patient/intake/form", json={"answers": answers})
        assert form.status_code == 200
        assert form.json()["flags"] == ["self-harm", "severity-9-or-10"]
        status = await urgent_status(clinician_ws)
        assert status["detail"] == "severity-9-or-10"

        seen = await messages_until_pong(patient_ws)
        assert not [m for m in seen if m.get("event") == "urgent_intake"]
