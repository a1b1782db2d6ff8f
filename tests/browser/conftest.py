"""A real server process and Debian's Chromium (driven by Playwright) for the page tests."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Playwright, expect, sync_playwright

SERVER_COMMAND = [sys.executable, "-m", "telehealth", "serve"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-gpu",
]
CLINICIAN_EMAIL = "dr.lee@clinic.example"
CLINICIAN_NAME = "Dr Robin Lee"
CLINICIAN_PASSWORD = "correct horse battery staple 42"
STARTUP_TIMEOUT_S = 30.0
SPEECH_READY_TIMEOUT_S = 90.0  # loading Whisper on a busy two-core machine

# The machine is shared with other test runs: give page assertions room beyond 5 s.
expect.set_options(timeout=15_000)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(data_dir: Path, port: int, speech_engine: str = "off") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    env.update(
        TELEHEALTH_DATA_DIR=str(data_dir / "var"),
        TELEHEALTH_PORT=str(port),
        TELEHEALTH_SPEECH_ENGINE=speech_engine,
        TELEHEALTH_MODELS_DIR=str(data_dir / "models"),
    )
    return env


@dataclass(frozen=True)
class Server:
    """The running server and a clinician account on it."""

    base_url: str
    email: str
    password: str
    data_dir: Path | None = None  # the server's TELEHEALTH_DATA_DIR (its SQLite file is there)
    ca_file: Path | None = None  # the CA to trust when base_url is https with a test CA

    @contextmanager
    def clinician_client(self) -> Iterator[httpx.Client]:
        """An HTTP client signed in as the clinician."""
        verify = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True
        with httpx.Client(base_url=self.base_url, timeout=10, verify=verify) as client:
            response = client.post(
                "/api/auth/login", json={"email": self.email, "password": self.password}
            )
            response.raise_for_status()
            yield client

    def create_visit(self, patient_label: str) -> dict[str, Any]:
        """Schedule a visit for now; returns the API's answer (visit and invite_url)."""
        with self.clinician_client() as client:
            response = client.post(
                "/api/visits",
                json={
                    "scheduled_at": datetime.now(UTC).isoformat(),
                    "patient_label": patient_label,
                },
            )
            response.raise_for_status()
            created: dict[str, Any] = response.json()
            return created

    def visit_status(self, visit_id: str) -> str:
        with self.clinician_client() as client:
            response = client.get(f"/api/visits/{visit_id}")
            response.raise_for_status()
            return str(response.json()["status"])


def _wait_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not become healthy:\n{log.read_text()}")


def _wait_speech_ready(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + SPEECH_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{log.read_text()}")
        response = httpx.get(f"{base_url}/readyz", timeout=5)
        if response.status_code == 200:
            return
        problem = response.json().get("speech", {}).get("problem")
        if problem and problem != "loading":
            raise RuntimeError(f"the speech engine did not load: {problem}")
        time.sleep(0.5)
    raise RuntimeError(f"the speech engine did not load in time:\n{log.read_text()}")


def _create_clinician(data_dir: Path, env: dict[str, str]) -> None:
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "telehealth",
            "clinician",
            "create",
            "--email",
            CLINICIAN_EMAIL,
            "--name",
            CLINICIAN_NAME,
            "--password-stdin",
        ],
        input=CLINICIAN_PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=data_dir,
        env=env,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr


@contextmanager
def _running_server(
    data_dir: Path,
    *,
    speech_engine: str = "off",
    host: str = "127.0.0.1",
    settings: dict[str, str] | None = None,
    create_clinician: bool = True,
) -> Iterator[Server]:
    """A server process on a free port with one clinician, stopped on exit. With `host`
    ("localhost" for passkeys, which refuse IP addresses) the public URL names that host;
    `settings` are more TELEHEALTH_* variables. `create_clinician=False` for a second
    process on a database that has the clinician already."""
    port = _free_port()
    env = _environment(data_dir, port, speech_engine)
    env.update(settings or {})
    if host != "127.0.0.1":
        env["TELEHEALTH_PUBLIC_BASE_URL"] = f"http://{host}:{port}"
    if create_clinician:
        _create_clinician(data_dir, env)
    log = data_dir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            SERVER_COMMAND, cwd=data_dir, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    base_url = f"http://{host}:{port}"
    try:
        _wait_healthy(process, base_url, log)
        if speech_engine != "off":
            _wait_speech_ready(process, base_url, log)
        yield Server(
            base_url=base_url,
            email=CLINICIAN_EMAIL,
            password=CLINICIAN_PASSWORD,
            data_dir=data_dir / "var",
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server with speech off (no model loads): most page tests need no captions."""
    with _running_server(tmp_path_factory.mktemp("browser-server")) as running:
        yield running


@pytest.fixture(scope="package")
def speech_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server with speech on (TELEHEALTH_SPEECH_ENGINE=auto: the embedded Whisper
    tiny.en for English), ready once the model has loaded; one load per test session."""
    data_dir = tmp_path_factory.mktemp("browser-speech-server")
    with _running_server(data_dir, speech_engine="auto") as running:
        yield running


@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    chromium = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield chromium
    finally:
        chromium.close()
