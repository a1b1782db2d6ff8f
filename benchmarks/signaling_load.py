"""Signaling load: N websocket clients in visits of two against one server process.

Each visit has a clinician and a patient. Clients join at a steady ramp (the patient waits,
the clinician admits), then every client relays ICE candidates to its peer (the bulk of
what signaling carries during call set-up), one every `--interval` seconds for `--rounds`
rounds. Measured on the client side:

- join: websocket opened -> `welcome` received;
- relay: a candidate sent by one peer -> received by the other (same clock, one process).

The server runs as its own process (`telehealth serve`, SQLite, in-process pub/sub) so its
peak RSS is measured alone. Traffic goes to 127.0.0.1 only. Last line: one JSON object.
`BENCH_SERVER_PROFILE` puts extra interpreter arguments before the server's `-m telehealth`,
e.g. a script that runs the server under a profiler.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
from websockets.asyncio.client import ClientConnection, connect

PASSWORD = "benchmark passphrase"


@dataclass
class Stats:
    joins_ms: list[float] = field(default_factory=list)
    relays_ms: list[float] = field(default_factory=list)
    messages: int = 0
    errors: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def prepare(data_dir: Path, visits: int, base_url: str) -> tuple[str, list[tuple[str, str]]]:
    """Create a clinician, the visits and one patient session per visit, straight in the DB."""
    from telehealth.auth.patient_sessions import open_patient_session
    from telehealth.auth.sessions import StaffSessionLimits, open_staff_session
    from telehealth.clinicians import create_clinician
    from telehealth.settings import Settings
    from telehealth.storage import Database, upgrade_database
    from telehealth.visits.service import create_visit

    settings = Settings(_env_file=None, data_dir=data_dir, public_base_url=base_url)  # type: ignore[call-arg]
    database = Database.for_settings(settings)
    await upgrade_database(database)
    pairs: list[tuple[str, str]] = []
    async with database.session() as session:
        clinician = await create_clinician(
            session, email="bench@clinic.example", display_name="Dr Bench", password=PASSWORD
        )
        # Straight in the database: the benchmark measures calls, not sign-in.
        clinician_token = open_staff_session(session, clinician, StaffSessionLimits.same(hours=2))
        for index in range(visits):
            visit, invite = await create_visit(
                session,
                clinician_id=clinician.id,
                scheduled_at=datetime.now(UTC),
                invite_ttl=timedelta(hours=2),
            )
            opened = await open_patient_session(
                session,
                invite_token=invite.token,
                display_name=f"P{index}",
                ttl=timedelta(hours=2),
            )
            patient_token = opened.token
            pairs.append((visit.id, patient_token))
    await database.close()
    return clinician_token, pairs


async def recv_type(ws: ClientConnection, kind: str, within_s: float = 30) -> dict[str, object]:
    async with asyncio.timeout(within_s):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message  # type: ignore[no-any-return]


async def run_pair(
    ws_base: str,
    origin: str,
    visit_id: str,
    clinician: str,
    patient: str,
    start_at: float,
    rounds: int,
    interval: float,
    stats: Stats,
    go: asyncio.Event,
) -> None:
    url = f"{ws_base}/ws/visits/{visit_id}"
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))

    async def join(cookie: str) -> tuple[ClientConnection, dict[str, object]]:
        started = time.perf_counter()
        ws = await connect(
            url,
            additional_headers={"Cookie": cookie},
            origin=origin,  # type: ignore[arg-type]
            compression=None,
            open_timeout=30,
            max_queue=64,
        )
        await ws.send(json.dumps({"type": "hello", "version": 1}))
        welcome = await recv_type(ws, "welcome")
        stats.joins_ms.append((time.perf_counter() - started) * 1000)
        return ws, welcome

    try:
        p_ws, p_welcome = await join(f"th_patient={patient}")
        c_ws, c_welcome = await join(f"th_clinician={clinician}")
        await c_ws.send(json.dumps({"type": "admit", "peer_id": p_welcome["peer_id"]}))
        await recv_type(p_ws, "admitted")
    except Exception as error:
        stats.errors.append(f"join: {type(error).__name__}: {error}")
        return
    await go.wait()

    async def talk(me: ClientConnection, peer_id: object, other: ClientConnection) -> None:
        """Send `rounds` candidates to `peer_id`, each timed until `other` receives it."""
        await asyncio.sleep(random.uniform(0, interval))
        for index in range(rounds):
            sent = time.perf_counter()
            candidate = f"candidate:{index} 1 udp 2122260223 127.0.0.1 {40000 + index} typ host"
            await me.send(
                json.dumps(
                    {
                        "type": "ice",
                        "to": peer_id,
                        "candidate": {"candidate": candidate, "sdpMid": "0", "sdpMLineIndex": 0},
                    }
                )
            )
            while (await recv_type(other, "ice"))["candidate"]["candidate"] != candidate:
                pass
            stats.relays_ms.append((time.perf_counter() - sent) * 1000)
            stats.messages += 1
            await asyncio.sleep(interval)

    try:
        # Alternate directions: the clinician talks, then the patient, so each socket has
        # one reader at a time.
        await talk(c_ws, p_welcome["peer_id"], p_ws)
        await talk(p_ws, c_welcome["peer_id"], c_ws)
        for ws in (c_ws, p_ws):
            await ws.send(json.dumps({"type": "ping"}))
    except Exception as error:
        stats.errors.append(f"relay: {type(error).__name__}: {error}")
    finally:
        await asyncio.gather(c_ws.close(), p_ws.close(), return_exceptions=True)


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    visits = args.clients // 2
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "var"
        clinician, pairs = await prepare(data_dir, visits, base)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
        env.update(
            TELEHEALTH_DATA_DIR=str(data_dir),
            TELEHEALTH_PORT=str(port),
            TELEHEALTH_SPEECH_ENGINE="off",
            TELEHEALTH_LOG_LEVEL="WARNING",
            TELEHEALTH_MODELS_DIR=str(Path(tmp) / "models"),
        )
        # A plain Popen: the server must outlive nothing here and is stopped below.
        server = subprocess.Popen(  # noqa: ASYNC220
            [
                sys.executable,
                *os.environ.get("BENCH_SERVER_PROFILE", "").split(),
                "-m",
                "telehealth",
                "serve",
            ],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        peak_rss = 0.0
        try:
            async with httpx.AsyncClient() as client:
                for _ in range(300):
                    try:
                        await client.get(f"{base}/healthz", timeout=1)
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            process = psutil.Process(server.pid)
            stats = Stats()
            go = asyncio.Event()
            ramp = 1.0 / args.join_rate  # seconds between two clients' joins
            started = time.monotonic()
            tasks = [
                asyncio.create_task(
                    run_pair(
                        base.replace("http", "ws"),
                        base,
                        visit_id,
                        clinician,
                        patient,
                        started + index * 2 * ramp,
                        args.rounds,
                        args.interval,
                        stats,
                        go,
                    )
                )
                for index, (visit_id, patient) in enumerate(pairs)
            ]

            async def sample_rss() -> None:
                nonlocal peak_rss
                while True:
                    peak_rss = max(peak_rss, process.memory_info().rss / 2**20)
                    await asyncio.sleep(0.2)

            sampler = asyncio.create_task(sample_rss())
            await asyncio.sleep(len(pairs) * 2 * ramp + 1.0)
            # The load generator's own collector pauses would count as relay latency:
            # freeze what exists (1000 connections) before the measured phase.
            gc.collect()
            gc.freeze()
            go.set()
            async with asyncio.timeout(600):
                await asyncio.gather(*tasks)
            sampler.cancel()
            server_cpu_s = sum(process.cpu_times()[:2])
        finally:
            server.terminate()
            server.communicate(timeout=30)
    return {
        "clients": args.clients,
        "rooms": visits,
        "messages": stats.messages,
        "relay_p50_ms": round(statistics.median(stats.relays_ms), 2) if stats.relays_ms else None,
        "relay_p99_ms": round(percentile(stats.relays_ms, 99), 2),
        "join_p95_ms": round(percentile(stats.joins_ms, 95), 2),
        "errors": len(stats.errors),
        "peak_rss_mb": round(peak_rss, 1),
        "join_rate_per_s": args.join_rate,
        "server_cpu_s": round(server_cpu_s, 1),
        "client_cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
        "first_errors": stats.errors[:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000, help="websocket clients (even)")
    parser.add_argument("--rounds", type=int, default=5, help="chats each client sends")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between chats")
    parser.add_argument("--join-rate", type=float, default=100.0, help="joins per second")
    args = parser.parse_args()
    if args.clients < 2 or args.clients % 2:
        parser.error("--clients must be an even number >= 2")
    print(json.dumps(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
