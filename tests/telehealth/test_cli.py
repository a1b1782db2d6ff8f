"""Each CLI command, run as an operator would, and its failure paths."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TELEHEALTH = [sys.executable, "-m", "telehealth"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    env.update(
        TELEHEALTH_DATA_DIR=str(tmp_path / "var"),
        TELEHEALTH_SPEECH_ENGINE="off",
        TELEHEALTH_MODELS_DIR=str(tmp_path / "models"),
    )
    env.update(extra)
    return env


def telehealth(
    tmp_path: Path, *args: str, stdin: str = "", **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TELEHEALTH, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment(tmp_path, **extra),
        timeout=120,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith("error: ") and text in lines[0], lines


def test_version(tmp_path: Path) -> None:
    result = telehealth(tmp_path, "version")
    assert result.returncode == 0
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*\n", result.stdout)


def test_db_upgrade_is_repeatable(tmp_path: Path) -> None:
    first = telehealth(tmp_path, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert re.match(r"database at revision \w+", first.stdout)
    assert (tmp_path / "var" / "telehealth.db").exists()
    assert telehealth(tmp_path, "db", "upgrade").stdout == first.stdout


def test_bad_setting_is_one_line(tmp_path: Path) -> None:
    result = telehealth(tmp_path, "db", "upgrade", TELEHEALTH_PORT="not-a-port")
    assert_one_clear_line(result, 2, "TELEHEALTH_PORT")


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://nobody:hunter2secret@127.0.0.1:1/none"
    result = telehealth(tmp_path, "db", "upgrade", TELEHEALTH_DATABASE_URL=url)
    assert_one_clear_line(result, 1, "cannot reach the database")
    assert "hunter2secret" not in result.stderr


def test_clinician_create_and_its_errors(tmp_path: Path) -> None:
    args = (
        "clinician",
        "create",
        "--email",
        "Grace@Clinic.example",
        "--name",
        "Dr Grace",
        "--password-stdin",
    )
    created = telehealth(tmp_path, *args, stdin="correct horse battery\n")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "created clinician grace@clinic.example"
    again = telehealth(tmp_path, *args, stdin="correct horse battery\n")
    assert_one_clear_line(again, 1, "already exists")
    weak = telehealth(
        tmp_path,
        "clinician",
        "create",
        "--email",
        "x@y.example",
        "--name",
        "X",
        "--password-stdin",
        stdin="short\n",
    )
    assert_one_clear_line(weak, 1, "at least 12 characters")
    bad_email = telehealth(
        tmp_path,
        "clinician",
        "create",
        "--email",
        "nobody",
        "--name",
        "X",
        "--password-stdin",
        stdin="long enough password\n",
    )
    assert_one_clear_line(bad_email, 1, "not an email address")


def test_demo_prints_a_login_and_an_invite(tmp_path: Path) -> None:
    result = telehealth(tmp_path, "demo")
    assert result.returncode == 0, result.stderr
    assert "demo@clinic.example" in result.stdout
    assert re.search(r"http://127\.0\.0\.1:8000/join#invite=[\w-]{40,}", result.stdout)
    again = telehealth(tmp_path, "demo")
    assert again.returncode == 0
    password = re.compile(r"password:\s+(\S+)")
    first_password = password.search(result.stdout)
    second_password = password.search(again.stdout)
    assert first_password and second_password
    assert first_password.group(1) != second_password.group(1)


def test_serve_prints_demo_serves_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [*TELEHEALTH, "serve"],
        cwd=tmp_path,
        env=environment(tmp_path, TELEHEALTH_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "server did not come up in 30 s"
                time.sleep(0.2)
        assert response.json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200

        busy = telehealth(tmp_path, "serve", TELEHEALTH_PORT=str(port))
        assert_one_clear_line(busy, 1, f"port {port} on 127.0.0.1 is already in use")
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)
    # uvicorn re-raises the signal once the lifespan has shut down cleanly.
    assert server.returncode in (0, -signal.SIGTERM), stderr
    assert "Application shutdown complete" in stderr
    assert f"http://127.0.0.1:{port}/join#invite=" in stdout
    assert "demo@clinic.example" in stdout
    assert '"event": "stopping"' in stderr
    # Tokens never reach the logs.
    token = re.search(r"#invite=([\w-]+)", stdout)
    assert token and token.group(1) not in stderr


def test_demo_is_refused_outside_development(tmp_path: Path) -> None:
    for env in ("production", "test"):
        refused = telehealth(tmp_path, "demo", TELEHEALTH_ENV=env)
        assert_one_clear_line(refused, 1, "only in development")
        assert "password" not in refused.stdout


def test_a_production_start_makes_no_demo_and_says_how_to_create_staff(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [*TELEHEALTH, "serve"],
        cwd=tmp_path,
        env=environment(
            tmp_path,
            TELEHEALTH_PORT=str(port),
            TELEHEALTH_ENV="production",
            TELEHEALTH_SECRET_KEY="production-grade-secret-" + "x" * 20,
            # Behind a proxy that ends TLS: plain http on loopback.
            TELEHEALTH_PUBLIC_BASE_URL="https://clinic.example",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "server did not come up in 30 s"
                time.sleep(0.2)
        refused = httpx.post(
            f"http://127.0.0.1:{port}/api/auth/login",
            json={"email": "demo@clinic.example", "password": "anything at all"},
            timeout=10,
        )
        assert refused.status_code == 503
        assert "telehealth clinician create" in refused.json()["detail"]
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 404
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)
    assert "No staff account exists yet" in stdout
    assert "telehealth clinician create --email" in stdout
    assert "demo@clinic.example" not in stdout and "#invite=" not in stdout
    assert "server:" not in stderr.lower()
