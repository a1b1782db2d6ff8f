"""Never-admitted patients flooding waiting rooms cannot grow a real server's memory.

The review's attack, on loopback: patient sessions in waiting rooms, each sending frames as
large as allowed, as fast as the rate limit allows, reconnecting whenever the server closes
it, for a while. Every frame used to be appended to the visit's log before the room refused
it, and the log kept it for a day. The review redeemed one invite into eight sessions; an
invite now holds one live session (tests/telehealth/test_patient_links.py), so the flood
here uses eight invites, one session each, to send as much as the review did.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from signaling.messages import MAX_FRAME_BYTES
from signaling.server_messages import MAX_SDP_CHARS
from tests.telehealth.live_server import free_port

PASSWORD = "a long enough passphrase"
SESSIONS = 8
FLOOD_S = 15.0
FRAMES_PER_S = 15  # per session: under the 20 a second the rate limit allows
ALLOWED_GROWTH = 20 * 1024 * 1024


@dataclass
class Server:
    base: str
    process: subprocess.Popen[str]

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)


def _env(tmp_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    env.update(
        TELEHEALTH_ENV="test",
        TELEHEALTH_DATA_DIR=str(tmp_path / "var"),
        TELEHEALTH_SPEECH_ENGINE="off",
        TELEHEALTH_MODELS_DIR=str(tmp_path / "models"),
        TELEHEALTH_PORT=str(port),
        TELEHEALTH_ALLOWED_ORIGINS=f"http://127.0.0.1:{port}",
        TELEHEALTH_SECRET_KEY="flood-test-secret-" + "0" * 20,
        TELEHEALTH_LOG_LEVEL="WARNING",
        # A budget far above the flood, so what is measured is the waiting room's refusal
        # before the log (the budget has its own tests in tests/signaling).
        TELEHEALTH_ROOM_LOG_MAX_BYTES=str(512 * 1024 * 1024),
        TELEHEALTH_ROOM_LOG_MAX_ENTRIES="1000000",
    )
    return env


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = _env(tmp_path, port)
    subprocess.run(
        [sys.executable, "-m", "telehealth", "clinician", "create", "--email"]
        + ["ada@clinic.example", "--name", "Dr Ada", "--password-stdin"],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "telehealth", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "the server did not start"
                assert time.monotonic() < deadline
                time.sleep(0.2)
        yield Server(base=base, process=process)
    finally:
        process.terminate()
        process.communicate(timeout=30)


async def _open_visits(server: Server, count: int) -> tuple[list[tuple[str, str]], str]:
    """Sign in, schedule `count` visits; return their (visit id, invite) and the cookie."""
    visits: list[tuple[str, str]] = []
    async with httpx.AsyncClient(base_url=server.base) as client:
        login = await client.post(
            "/api/auth/login", json={"email": "ada@clinic.example", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        for _ in range(count):
            created = await client.post(
                "/api/visits", json={"scheduled_at": datetime.now(UTC).isoformat()}
            )
            body = created.json()
            visits.append((body["visit"]["id"], body["invite_url"].split("#invite=")[1]))
        return visits, client.cookies["th_clinician"]


async def _patient_session(server: Server, invite: str, name: str) -> str:
    async with httpx.AsyncClient(base_url=server.base) as client:
        opened = await client.post(
            "/api/patient/session", json={"invite": invite, "display_name": name}
        )
        assert opened.status_code == 200, opened.text
        return str(opened.cookies["th_patient"])


def _socket(server: Server, visit_id: str, cookie: str) -> object:
    return connect(
        f"{server.base.replace('http', 'ws')}/ws/visits/{visit_id}",
        additional_headers={"Cookie": cookie},
        origin=server.base,  # type: ignore[arg-type]
        compression=None,
        open_timeout=5,
        max_size=None,
    )


@dataclass
class Tally:
    frames: int = 0
    refusals: int = 0
    closes: int = 0


async def _flood(server: Server, visit_id: str, cookie: str, until: float, tally: Tally) -> None:
    """Send the largest offers allowed until `until`, reconnecting after each close."""
    sdp = ("a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host\r\n" * 600)[:MAX_SDP_CHARS]
    frame = json.dumps({"type": "offer", "sdp": sdp, "to": "c-anyone"})
    assert MAX_FRAME_BYTES - 2000 < len(frame) <= MAX_FRAME_BYTES
    while time.monotonic() < until:
        try:
            async with _socket(server, visit_id, f"th_patient={cookie}") as ws:  # type: ignore[attr-defined]
                await ws.send(json.dumps({"type": "hello", "version": 1}))

                async def count_replies() -> None:
                    async for raw in ws:
                        if json.loads(raw).get("code") == "not_in_room":
                            tally.refusals += 1

                replies = asyncio.create_task(count_replies())
                try:
                    while time.monotonic() < until:
                        await ws.send(frame)
                        tally.frames += 1
                        await asyncio.sleep(1 / FRAMES_PER_S)
                finally:
                    replies.cancel()
                    with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                        await replies
        except (ConnectionClosed, InvalidStatus, OSError):
            tally.closes += 1
            await asyncio.sleep(0.1)


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_waiting_room_flood_leaves_server_memory_where_it_was(server: Server) -> None:
    visits, clinician = await _open_visits(server, SESSIONS)
    patients = [
        (visit_id, await _patient_session(server, invite, f"Jo {n}"))
        for n, (visit_id, invite) in enumerate(visits)
    ]
    # Warm up every path the flood takes once, so lazy imports and caches are in the base.
    await _flood(server, *patients[0], time.monotonic() + 2.0, Tally())
    await asyncio.sleep(1.0)
    before = server.rss()

    tally = Tally()
    until = time.monotonic() + FLOOD_S
    await asyncio.gather(*(_flood(server, v, c, until, tally) for v, c in patients))
    await asyncio.sleep(2.0)  # every socket is closed; let the server settle
    after = server.rss()
    print(f"flood: {tally}, rss {before / 1e6:.1f} -> {after / 1e6:.1f} MB")  # noqa: T201

    sent_mb = tally.frames * MAX_FRAME_BYTES / 1e6
    assert sent_mb > 1.5 * ALLOWED_GROWTH / 1e6, tally  # the flood was real
    assert tally.refusals > tally.frames / 2, tally  # refused, not silently dropped
    assert after - before < ALLOWED_GROWTH, (
        f"server memory grew {(after - before) / 1e6:.1f} MB "
        f"(from {before / 1e6:.0f} MB) after {sent_mb:.0f} MB of refused frames"
    )
    # The server still serves the visit: the clinician joins and sees a waiting patient.
    async with _socket(server, patients[0][0], f"th_clinician={clinician}") as ws:  # type: ignore[attr-defined]
        await ws.send(json.dumps({"type": "hello", "version": 1}))
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome"
