"""The deployment of docs/deployment.md, for real: Debian's nginx, configured from the shipped
deploy/nginx/telehealth.conf, terminates TLS in front of two `telehealth serve` processes
that share PostgreSQL and Redis, with speech on in both. The patient's browser lands on one
process and the clinician's on the other (nginx's log and each process's log show it), and
a whole visit runs through nginx over https: join, admission, media both ways, chat, live
captions of each side's speech on the other side's page, the end of the call."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from telehealth.middleware.headers import ALWAYS, HSTS
from tests.browser.conftest import Server, _running_server
from tests.browser.nginx_proxy import (
    Nginx,
    TLSFiles,
    free_port,
    make_tls_files,
    running_nginx,
    site_config_for_test,
)
from tests.browser.test_captions import (
    _RECORD_CAPTIONS,
    CAPTION_TIMEOUT_MS,
    PATIENT_NAME,
    TIMEOUT_MS,
    _launch,
    _run,
    open_call,
)
from tests.browser.test_video_call import remote_media
from tests.conftest import requires_postgres, requires_redis, throwaway_postgres
from tests.services import REDIS_URL

pytestmark = [pytest.mark.browser, pytest.mark.slow, requires_postgres, requires_redis]

PATIENT_SENTENCE = "I have had a sore throat since Monday."
CLINICIAN_SENTENCE = "Please drink plenty of warm water and rest."
CLINICIAN_NAME = "Dr Robin Lee"
SHARED_SECRET = "shared-by-both-processes-behind-nginx-" + "0" * 16

# True once a caption line from `name` holds every one of `words`.
_CAPTION_WITH = """
({name, words}) => [...document.querySelectorAll("#caption-log .caption")].some((line) => {
  const text = line.textContent.toLowerCase();
  return text.startsWith(name.toLowerCase() + ":") && words.every((w) => text.includes(w));
})
"""


@dataclass(frozen=True)
class Clinic:
    """nginx in front of the patients' process and the staff process."""

    front: Server  # the clinician account, reached through nginx over https
    nginx: Nginx
    tls: TLSFiles
    patients: Server
    staff: Server
    settings: dict[str, str]  # the TELEHEALTH_* both processes share

    def https(self, from_address: str = "127.0.0.1") -> httpx.Client:
        """A client of nginx over https, connecting from `from_address` (on loopback)."""
        verify = ssl.create_default_context(cafile=self.tls.ca)
        return httpx.Client(
            base_url=self.nginx.https_url,
            transport=httpx.HTTPTransport(verify=verify, local_address=from_address),
            timeout=10,
        )


@pytest.fixture(scope="module")
def shared_database() -> Iterator[str]:
    """A PostgreSQL database of its own for both processes, dropped afterwards. Made on an
    event loop of its own thread: Playwright's sync API runs one on the test's thread."""
    loop = asyncio.new_event_loop()
    aside = threading.Thread(target=loop.run_forever, name="postgres-admin", daemon=True)
    aside.start()
    database = throwaway_postgres()
    try:
        yield asyncio.run_coroutine_threadsafe(database.__aenter__(), loop).result(60)
        asyncio.run_coroutine_threadsafe(database.__aexit__(None, None, None), loop).result(60)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        aside.join(10)
        loop.close()


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory, shared_database: str) -> Iterator[Clinic]:
    folder = tmp_path_factory.mktemp("behind-nginx")
    https_port, http_port = free_port(), free_port()
    public_url = f"https://127.0.0.1:{https_port}"
    settings = {
        "TELEHEALTH_DATABASE_URL": shared_database,
        "TELEHEALTH_REDIS_URL": REDIS_URL or "",
        "TELEHEALTH_PUBLIC_BASE_URL": public_url,
        # nginx connects from loopback: only it may say who the client is and that it used TLS.
        "TELEHEALTH_TRUSTED_PROXIES": "127.0.0.1",
        "TELEHEALTH_SECRET_KEY": SHARED_SECRET,
    }
    tls = make_tls_files(folder)
    with ExitStack() as stack:
        patients = stack.enter_context(
            _running_server(_mkdir(folder / "patients"), speech_engine="auto", settings=settings)
        )
        staff = stack.enter_context(
            _running_server(
                _mkdir(folder / "staff"),
                speech_engine="auto",
                settings=settings,
                create_clinician=False,
            )
        )
        site = site_config_for_test(
            https_port=https_port,
            http_port=http_port,
            tls=tls,
            patients_port=_port(patients),
            staff_port=_port(staff),
        )
        nginx = stack.enter_context(
            running_nginx(folder / "nginx", site, https_port=https_port, http_port=http_port)
        )
        front = replace(patients, base_url=nginx.https_url, ca_file=tls.ca)
        yield Clinic(front, nginx, tls, patients, staff, settings)


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _port(server: Server) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def _server_log(server: Server) -> list[dict[str, Any]]:
    assert server.data_dir is not None
    text = (server.data_dir.parent / "server.log").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def sentences(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each side's microphone: a sentence between silences, 48 kHz mono s16."""
    folder = tmp_path_factory.mktemp("nginx-sounds")
    files = {}
    for who, sentence in (("patient", PATIENT_SENTENCE), ("clinician", CLINICIAN_SENTENCE)):
        spoken, padded = folder / f"{who}-spoken.wav", folder / f"{who}.wav"
        _run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(spoken), sentence])
        _run(
            ["sox", str(spoken), "-r", "48000", "-c", "1", "-b", "16", str(padded), "pad", "1", "2"]
        )
        files[who] = padded
    return files


@pytest.fixture(scope="module")
def speaking_browsers(
    playwright_driver: Playwright, sentences: dict[str, Path]
) -> Iterator[dict[str, Browser]]:
    browsers = {who: _launch(playwright_driver, wav) for who, wav in sentences.items()}
    yield browsers
    for chromium in browsers.values():
        chromium.close()


def _context(browser: Browser) -> BrowserContext:
    # The test CA is not in Chromium's store; the certificate itself is checked by httpx.
    context = browser.new_context(ignore_https_errors=True)
    context.add_init_script(_RECORD_CAPTIONS)
    return context


def _wait_for_caption(page: Page, name: str, words: list[str]) -> None:
    page.wait_for_function(
        _CAPTION_WITH, arg={"name": name, "words": words}, timeout=CAPTION_TIMEOUT_MS
    )


@pytest.mark.timeout(900)
def test_whole_visit_through_nginx_with_each_side_on_its_own_process(
    clinic: Clinic, speaking_browsers: dict[str, Browser]
) -> None:
    clinician_context = _context(speaking_browsers["clinician"])
    patient_context = _context(speaking_browsers["patient"])
    # Voice guidance has a test of its own; its recognizer would only share the cores.
    patient_context.add_init_script('localStorage.setItem("telehealth.voiceGuidance", "off")')
    try:
        clinician = clinician_context.new_page()
        patient = patient_context.new_page()
        # Sign-in, invite, consent, device check, waiting room, admission: all through nginx.
        visit_id = open_call(
            clinic.front, clinician, patient, consent="Yes", check_consent_step=False
        )
        assert patient.url.startswith(clinic.nginx.https_url)
        assert clinician.url.startswith(clinic.nginx.https_url)

        # WebRTC media both ways (peer to peer; the signaling went through nginx).
        for page in (clinician, patient):
            media = remote_media(page)
            assert media["state"] == "connected"
            assert media["kinds"] == ["audio", "video"]

        # Chat both ways, across the two processes.
        clinician.get_by_label("Message").fill("Hello Pat, can you hear me?")
        clinician.get_by_role("button", name="Send").click()
        expect(patient.locator("#chat-log")).to_contain_text(
            f"{CLINICIAN_NAME}: Hello Pat, can you hear me?", timeout=TIMEOUT_MS
        )
        patient.get_by_label("Message").fill("Yes, loud and clear.")
        patient.get_by_label("Message").press("Enter")
        expect(clinician.locator("#chat-log")).to_contain_text(
            f"{PATIENT_NAME}: Yes, loud and clear.", timeout=TIMEOUT_MS
        )

        # Live captions on both sides: the patient's speech, recognized by the patients'
        # process, on the clinician's page (served by the staff process), and the other
        # way round; each also sees their own words as "You".
        _wait_for_caption(clinician, PATIENT_NAME, ["sore throat", "monday"])
        _wait_for_caption(patient, CLINICIAN_NAME, ["water", "rest"])
        _wait_for_caption(patient, "You", ["sore throat", "monday"])
        _wait_for_caption(clinician, "You", ["water", "rest"])

        # The clinician ends the call; both pages show it.
        clinician.get_by_role("button", name="End call").click()
        dialog = clinician.get_by_role("dialog", name="End the call for everyone?")
        dialog.get_by_role("button", name="End call").click()
        for page in (clinician, patient):
            expect(page.get_by_role("heading", name="The visit has ended")).to_be_visible(
                timeout=TIMEOUT_MS
            )
        assert clinic.front.visit_status(visit_id) == "ended"
    finally:
        clinician_context.close()
        patient_context.close()

    # nginx sent each side's websocket and assistant offer to its own process...
    patients_at, staff_at = (f"127.0.0.1:{_port(s)}" for s in (clinic.patients, clinic.staff))
    routed = clinic.nginx.routed()
    sockets = {(r.upstream, r.address) for r in routed if r.path == f"/ws/visits/{visit_id}"}
    assert sockets == {("telehealth_patients", patients_at), ("telehealth_staff", staff_at)}
    assert all(r.status == 101 for r in routed if r.path == f"/ws/visits/{visit_id}")
    offers = {
        (r.upstream, r.address, r.status)
        for r in routed
        if r.path == f"/api/assistant/{visit_id}/offer"
    }
    assert offers == {
        ("telehealth_patients", patients_at, 200),
        ("telehealth_staff", staff_at, 200),
    }
    # ...and each process's own log agrees: one captions assistant each, the patient's
    # session opened on the patients' process, the clinician's pages on the staff process.
    for server in (clinic.patients, clinic.staff):
        opened = [e for e in _server_log(server) if e["event"] == "assistant opened"]
        assert {(e["visit_id"], e["mode"]) for e in opened} == {(visit_id, "captions")}
    patient_routes = {e.get("route") for e in _server_log(clinic.patients)}
    staff_routes = {e.get("route") for e in _server_log(clinic.staff)}
    assert "/api/patient/session" in patient_routes - staff_routes
    assert "/clinician/call" in staff_routes - patient_routes


@pytest.mark.timeout(600)
def test_nginx_redirects_serves_static_files_and_limits_bodies(clinic: Clinic) -> None:
    # Plain http only redirects to https.
    redirect = httpx.get(f"{clinic.nginx.http_url}/join?from=mail", timeout=10)
    assert redirect.status_code == 301
    assert redirect.headers["location"] == "https://127.0.0.1/join?from=mail"

    logged_before = len(clinic.nginx.routed())
    with clinic.https() as front, httpx.Client(base_url=clinic.patients.base_url) as app:
        # Static files come from nginx with the app's security headers, revalidated.
        static = front.get("/static/js/signaling.js")
        direct = app.get("/static/js/signaling.js")
        assert static.status_code == direct.status_code == 200
        assert static.content == direct.content
        assert static.headers["server"] == "nginx"  # no version: server_tokens off
        for name, value in ALWAYS.items():
            assert static.headers[name] == value, name
        assert static.headers["strict-transport-security"] == HSTS
        assert static.headers["cache-control"] == "no-cache"
        assert "etag" in static.headers and "last-modified" in static.headers
        assert "cache-control" not in direct.headers
        served = [
            r for r in clinic.nginx.routed()[logged_before:] if r.path == "/static/js/signaling.js"
        ]
        assert [(r.status, r.address) for r in served] == [(200, "-")]  # not from an upstream

        # Proxied answers keep the app's headers, with a single HSTS header.
        page = front.get("/clinician")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert page.headers.get_list("strict-transport-security") == [HSTS]
        assert page.headers["content-security-policy"] == ALWAYS["content-security-policy"]

        # A body over the app's limit (1 MiB) is refused by nginx before it reaches the app.
        too_large = front.post(
            "/api/auth/login",
            content=b"{" + b" " * (1024 * 1024 + 1) + b"}",
            headers={"content-type": "application/json"},
        )
        assert too_large.status_code == 413
        # nginx's own page, not the app's JSON answer: the body never reached the app.
        assert "nginx" in too_large.text
        assert "detail" not in too_large.text


ADMIN_EMAIL = "admin@clinic.example"
ADMIN_PASSWORD = "quiet lantern harbour seventeen orbit"


@pytest.mark.timeout(600)
def test_the_app_takes_the_client_address_from_nginx_never_from_the_client(
    clinic: Clinic, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    env.update(clinic.settings, TELEHEALTH_DATA_DIR=str(tmp_path), TELEHEALTH_SPEECH_ENGINE="off")
    created = subprocess.run(
        [sys.executable, "-m", "telehealth", "admin", "create", "--email", ADMIN_EMAIL]
        + ["--name", "Sam Admin", "--password-stdin"],
        input=ADMIN_PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    # A client on 127.0.0.2 (nginx connects to the app from 127.0.0.1) claims another address.
    with clinic.https(from_address="127.0.0.2") as client:
        failed = client.post(
            "/api/auth/login",
            json={"email": clinic.front.email, "password": "not the password at all"},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
        assert failed.status_code == 401, failed.text
    with clinic.https() as admin:
        signed_in = admin.post(
            "/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        events = admin.get("/api/admin/audit", params={"action": "login.failed"}).json()
    # The audit has the address nginx saw: not the claimed one, and not nginx's own.
    assert [e["detail"]["address"] for e in events["events"]] == ["127.0.0.2"]


@pytest.mark.timeout(600)
def test_nginx_drops_a_client_whose_headers_never_finish(clinic: Clinic) -> None:
    """A slowloris client: headers started, never finished. nginx closes it after its 10 s
    `client_header_timeout`; the app never hears of it."""
    logged_before = len(clinic.nginx.routed())
    context = ssl.create_default_context(cafile=clinic.tls.ca)
    port = int(clinic.nginx.https_url.rsplit(":", 1)[1])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"GET /clinician HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        tls.settimeout(30)
        started = time.monotonic()
        try:
            answer = tls.recv(1024)
        except (ssl.SSLError, ConnectionResetError):
            answer = b""
        waited = time.monotonic() - started
    assert answer == b""  # closed without an answer
    assert 8 < waited < 20, waited
    # Logged by nginx as a request timeout (408) that no upstream saw.
    assert [(r.status, r.address) for r in clinic.nginx.routed()[logged_before:]] == [(408, "-")]
