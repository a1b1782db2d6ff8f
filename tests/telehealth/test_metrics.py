"""/metrics: Prometheus text for the monitoring addresses and admins only, with bounded
labels that name no one, and gauges that follow the live websockets."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed

from telehealth.clinicians import create_clinician
from telehealth.metrics import ServiceMetrics
from telehealth.storage.models import StaffRole
from tests.conftest import make_settings
from tests.telehealth.live_server import free_port, live_server
from tests.telehealth.test_websocket import PASSWORD, Clinic, hello
from voice.peer_events import AudioDropped, PeerEvent, Recognized
from voice.recognition import Final, Partial

GAUGES = (
    "telehealth_ws_connections",
    "telehealth_visits_in_call",
    "telehealth_assistant_peers",
    "telehealth_speech_streams",
)


async def _clinic(tmp_path: Path, **overrides: object) -> AsyncIterator[Clinic]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(tmp_path, port=port, public_base_url=base, **overrides)
    async with live_server(settings) as app:
        async with app.state.services.database.session() as session:
            await create_clinician(
                session, email="ada@clinic.example", display_name="Ada", password=PASSWORD
            )
            await create_clinician(
                session,
                email="root@clinic.example",
                display_name="Root",
                password=PASSWORD,
                role=StaffRole.admin,
            )
        yield Clinic(app=app, base=base)


@pytest_asyncio.fixture
async def clinic(tmp_path: Path) -> AsyncIterator[Clinic]:
    """Nobody may scrape without signing in: admins only."""
    async for running in _clinic(tmp_path):
        yield running


@pytest_asyncio.fixture
async def monitored(tmp_path: Path) -> AsyncIterator[Clinic]:
    """The loopback address is the monitoring server's."""
    async for running in _clinic(tmp_path, metrics_allowed_addresses=["127.0.0.0/8"]):
        yield running


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def _scrape(clinic: Clinic, cookie: str | None = None) -> httpx.Response:
    cookies = {"th_clinician": cookie} if cookie else {}
    async with httpx.AsyncClient(base_url=clinic.base, cookies=cookies) as client:
        return await client.get("/metrics")


@pytest.mark.asyncio
async def test_only_admins_may_scrape_when_no_address_is_allowed(clinic: Clinic) -> None:
    assert (await _scrape(clinic)).status_code == 404
    assert (await _scrape(clinic, await clinic.login("ada@clinic.example"))).status_code == 404
    admin = await _scrape(clinic, await clinic.login("root@clinic.example"))
    assert admin.status_code == 200
    assert admin.headers["content-type"].startswith("text/plain; version=")
    assert ("telehealth_ws_connections", ()) in _samples(admin.text)


@pytest.mark.asyncio
async def test_an_address_outside_the_allowed_networks_is_refused(tmp_path: Path) -> None:
    async for clinic in _clinic(tmp_path, metrics_allowed_addresses=["10.20.0.0/16"]):
        assert (await _scrape(clinic)).status_code == 404


@pytest.mark.asyncio
async def test_requests_are_counted_by_route_template_never_by_path(monitored: Clinic) -> None:
    cookie = await monitored.login("ada@clinic.example")
    visit_id, invite = await monitored.new_visit(cookie)
    async with httpx.AsyncClient(
        base_url=monitored.base, cookies={"th_clinician": cookie}
    ) as client:
        assert (await client.get(f"/api/visits/{visit_id}")).status_code == 200
        assert (await client.get("/no/such/page")).status_code == 404
        await client.request("PROPFIND", "/healthz")
    text = (await _scrape(monitored)).text
    samples = _samples(text)
    route = (("method", "GET"), ("route", "/api/visits/{visit_id}"), ("status", "200"))
    assert samples[("telehealth_http_requests_total", route)] == 1.0
    unmatched = (("method", "GET"), ("route", "(unmatched)"), ("status", "404"))
    assert samples[("telehealth_http_requests_total", unmatched)] == 1.0
    assert any(
        name == "telehealth_http_requests_total" and ("method", "other") in labels
        for name, labels in samples
    )
    # Neither the visit, the invite nor anybody's name is ever a label or a value.
    for secret in (visit_id, invite, "Ada", "ada@clinic.example"):
        assert secret not in text


@pytest.mark.asyncio
async def test_the_gauges_follow_the_websockets_and_closes_are_counted_by_code(
    monitored: Clinic,
) -> None:
    cookie = await monitored.login("ada@clinic.example")
    visit_id, invite = await monitored.new_visit(cookie)
    patient = await monitored.patient(invite)
    before = _samples((await _scrape(monitored)).text)
    assert all(before[(gauge, ())] == 0 for gauge in GAUGES)

    async with (
        monitored.socket(visit_id, {"th_clinician": cookie}) as clinician_ws,
        monitored.socket(visit_id, {"th_patient": patient}) as patient_ws,
    ):
        await hello(clinician_ws)
        waiting = await hello(patient_ws)
        await clinician_ws.send(json.dumps({"type": "admit", "peer_id": waiting["peer_id"]}))
        async with asyncio.timeout(5):
            while True:
                during = _samples((await _scrape(monitored)).text)
                if during[("telehealth_visits_in_call", ())] == 1:
                    break
                await asyncio.sleep(0.05)
        assert during[("telehealth_ws_connections", ())] == 2
        await clinician_ws.send(json.dumps({"type": "end_call"}))
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(5):
                while True:
                    await patient_ws.recv()

    async with asyncio.timeout(5):
        while True:
            after = _samples((await _scrape(monitored)).text)
            if after[("telehealth_ws_connections", ())] == 0:
                break
            await asyncio.sleep(0.05)
    assert after[("telehealth_visits_in_call", ())] == 0
    # Both sockets were closed by the server with 1000 when the call ended.
    assert after[("telehealth_ws_closes_total", (("code", "1000"),))] == 2


@pytest.mark.asyncio
async def test_dropped_audio_and_caption_latency_are_measured() -> None:
    metrics = ServiceMetrics()
    seen: list[PeerEvent] = []

    async def consumer(event: PeerEvent) -> None:
        seen.append(event)

    observed = metrics.observing(consumer, captions=True)
    now = time.time()
    # The stream had fed 10 s of audio at `now`; the utterance ended at 9.4 s of it.
    final = Recognized(Final("my chest hurts", 7.0, 9.4), audio_s=10.0, wall_time=now)
    await observed(final)
    await observed(Recognized(Partial("my"), audio_s=8.0, wall_time=now))
    await observed(Recognized(Final("  ", 1.0, 2.0), audio_s=10.0, wall_time=now))
    await observed(AudioDropped(seconds=1.5, total_s=1.5))
    await observed(AudioDropped(seconds=0.5, total_s=2.0))
    assert len(seen) == 5  # every event still reaches the consumer
    samples = _samples(metrics.exposition().decode())
    assert samples[("telehealth_audio_dropped_seconds_total", ())] == 2.0
    assert samples[("telehealth_caption_final_seconds_count", ())] == 1.0
    latency = samples[("telehealth_caption_final_seconds_sum", ())]
    assert 0.6 <= latency < 0.6 + 5.0  # 0.6 s before `now`, plus however long this took
    assert samples[("telehealth_caption_final_seconds_bucket", (("le", "0.5"),))] == 0.0
