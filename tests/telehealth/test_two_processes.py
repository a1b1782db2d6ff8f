"""Two server processes behind one Redis act as one: patient on A, clinician on B."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import requires_redis
from tests.services import REDIS_URL
from tests.telehealth.live_server import free_port
from tests.telehealth.test_websocket import close_code, hello, next_message

pytestmark = [requires_redis, pytest.mark.redis]
PASSWORD = "a long enough passphrase"
PATIENT_NAME = "Jo Quillfeather"
CHAT = "my chest feels tight since Monday"


def _env(tmp_path: Path, port: int, origins: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    env.update(
        TELEHEALTH_DATA_DIR=str(tmp_path / "var"),
        TELEHEALTH_SPEECH_ENGINE="off",
        TELEHEALTH_MODELS_DIR=str(tmp_path / "models"),
        TELEHEALTH_REDIS_URL=REDIS_URL or "",
        TELEHEALTH_PORT=str(port),
        TELEHEALTH_ALLOWED_ORIGINS=origins,
        TELEHEALTH_SECRET_KEY="shared-by-both-processes-" + "0" * 16,
    )
    return env


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[str, str]]:
    ports = (free_port(), free_port())
    origins = ",".join(f"http://127.0.0.1:{p}" for p in ports)
    subprocess.run(
        [sys.executable, "-m", "telehealth", "db", "upgrade"],
        check=True,
        env=_env(tmp_path, ports[0], origins),
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "telehealth",
            "clinician",
            "create",
            "--email",
            "ada@clinic.example",
            "--name",
            "Dr Ada",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        env=_env(tmp_path, ports[0], origins),
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "telehealth", "serve"],
            cwd=tmp_path,
            env=_env(tmp_path, port, origins),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for port in ports
    ]
    try:
        for server, port in zip(servers, ports, strict=True):
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    assert server.poll() is None, server.communicate()[1]
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
        yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.communicate(timeout=30)


async def _stored_log(visit_id: str) -> bytes:
    """The raw bytes Redis holds for the visit's room log."""
    import redis.asyncio as redis_async

    client = redis_async.Redis.from_url(REDIS_URL or "")
    try:
        entries = await client.xrange(f"telehealth:signaling:visit:{visit_id}")
    finally:
        await client.aclose()
    assert entries, "the visit's log is not in Redis"
    return b"".join(value for _, fields in entries for value in fields.values())


@pytest.mark.asyncio
async def test_patient_on_a_and_clinician_on_b_complete_a_call(
    two_servers: tuple[str, str],
) -> None:
    from websockets.asyncio.client import connect

    a, b = two_servers
    async with httpx.AsyncClient(base_url=b) as clinician:
        login = await clinician.post(
            "/api/auth/login", json={"email": "ada@clinic.example", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        created = (
            await clinician.post(
                "/api/visits", json={"scheduled_at": datetime.now(UTC).isoformat()}
            )
        ).json()
        assert "visit" in created, created
        ada = clinician.cookies["th_clinician"]
    visit_id = created["visit"]["id"]
    invite = created["invite_url"].split("#invite=")[1]
    async with httpx.AsyncClient(base_url=a) as patient_http:
        opened = await patient_http.post(
            "/api/patient/session", json={"invite": invite, "display_name": PATIENT_NAME}
        )
        patient = opened.cookies["th_patient"]

    def ws(base: str, cookie: str) -> object:
        return connect(
            f"{base.replace('http', 'ws')}/ws/visits/{visit_id}",
            additional_headers={"Cookie": cookie},
            origin=base,  # type: ignore[arg-type]
            compression=None,
            open_timeout=5,
        )

    async with ws(a, f"th_patient={patient}") as p_ws:  # type: ignore[attr-defined]
        welcome = await hello(p_ws)
        assert welcome["state"] == "waiting"
        async with ws(b, f"th_clinician={ada}") as c_ws:  # type: ignore[attr-defined]
            c_welcome = await hello(c_ws)
            waiting = [p["peer_id"] for p in c_welcome["peers"] if p["state"] == "waiting"]
            assert waiting == [welcome["peer_id"]]
            await c_ws.send(json.dumps({"type": "admit", "peer_id": welcome["peer_id"]}))
            await next_message(p_ws, "admitted")
            await c_ws.send(
                json.dumps({"type": "offer", "sdp": "v=0 from B", "to": welcome["peer_id"]})
            )
            assert (await next_message(p_ws, "offer"))["sdp"] == "v=0 from B"
            await p_ws.send(
                json.dumps({"type": "answer", "sdp": "v=0 from A", "to": c_welcome["peer_id"]})
            )
            assert (await next_message(c_ws, "answer"))["sdp"] == "v=0 from A"
            await p_ws.send(
                json.dumps(
                    {"type": "ice", "candidate": {"candidate": "c1"}, "to": c_welcome["peer_id"]}
                )
            )
            assert (await next_message(c_ws, "ice"))["candidate"]["candidate"] == "c1"
            await p_ws.send(json.dumps({"type": "chat", "text": CHAT}))
            assert (await next_message(c_ws, "chat"))["text"] == CHAT
            # Both processes read the visit's log, yet Redis holds it sealed (AES-GCM).
            assert b"Quillfeather" not in await _stored_log(visit_id)
            assert b"chest" not in await _stored_log(visit_id)
            await c_ws.send(json.dumps({"type": "end_call"}))
            await next_message(p_ws, "call_ended")
            assert await close_code(p_ws) == 1000

    async with httpx.AsyncClient(base_url=a, cookies={"th_clinician": ada}) as check:
        deadline = time.monotonic() + 5
        while (await check.get(f"/api/visits/{visit_id}")).json()["status"] != "ended":
            assert time.monotonic() < deadline, "the visit was not marked ended"
            await asyncio.sleep(0.05)
