"""The service on a LAN over https: `telehealth tls dev-cert` makes the certificate for a
host name that is not loopback (clinic.test, mapped to 127.0.0.1 inside Chromium),
`telehealth serve` serves it, and a Chromium that trusts the CA (an NSS database of its
own, made with certutil, as the dev-cert instructions say) opens the page: a secure
context, so camera and microphone are given, and the sign-in cookie is a __Host- one."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Playwright, expect

from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CLINICIAN_EMAIL,
    CLINICIAN_NAME,
    CLINICIAN_PASSWORD,
    STARTUP_TIMEOUT_S,
    _environment,
    _free_port,
)

pytestmark = pytest.mark.browser

HOST = "clinic.test"  # reserved for testing (RFC 6761): never a real site
CERTUTIL = "/usr/bin/certutil"  # Debian's libnss3-tools (scripts/setup --test)


@dataclass(frozen=True)
class HttpsServer:
    base_url: str
    ca: Path


def _telehealth(cwd: Path, env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "telehealth", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _settings_printed(output: str) -> dict[str, str]:
    """The TELEHEALTH_* lines `tls dev-cert` prints, as it tells the operator to set them."""
    settings = {}
    for line in output.splitlines():
        name, equals, value = line.strip().partition("=")
        if equals and name.startswith("TELEHEALTH_"):
            settings[name] = value.split()[0]
    return settings


def _wait_healthy(process: subprocess.Popen[bytes], port: int, ca: Path, log: Path) -> None:
    trusting = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{log.read_text()}")
        try:
            # To 127.0.0.1, checking the certificate for clinic.test (TLS server name).
            with httpx.Client(verify=trusting, timeout=2) as client:
                health = client.get(
                    f"https://127.0.0.1:{port}/healthz", extensions={"sni_hostname": HOST}
                )
            if health.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server did not become healthy:\n{log.read_text()}")


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsServer]:
    data_dir = tmp_path_factory.mktemp("https-server")
    port = _free_port()
    env = _environment(data_dir, port)
    printed = _settings_printed(_telehealth(data_dir, env, "tls", "dev-cert", "--host", HOST))
    assert printed["TELEHEALTH_PUBLIC_BASE_URL"] == f"https://{HOST}:{port}"
    env.update(
        TELEHEALTH_TLS_CERT=printed["TELEHEALTH_TLS_CERT"],
        TELEHEALTH_TLS_KEY=printed["TELEHEALTH_TLS_KEY"],
        TELEHEALTH_PUBLIC_BASE_URL=printed["TELEHEALTH_PUBLIC_BASE_URL"],
    )
    _telehealth(
        data_dir,
        env,
        *("clinician", "create", "--email", CLINICIAN_EMAIL, "--name", CLINICIAN_NAME),
        "--password-stdin",
        stdin=CLINICIAN_PASSWORD + "\n",
    )
    ca = data_dir / "var" / "tls" / "ca.pem"
    log = data_dir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "telehealth", "serve"],
            cwd=data_dir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(process, port, ca, log)
        yield HttpsServer(f"https://{HOST}:{port}", ca)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="module")
def trusting_browser(
    playwright_driver: Playwright,
    https_server: HttpsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Browser]:
    """Chromium whose HOME holds an NSS database trusting the dev CA, with clinic.test
    resolving to 127.0.0.1; certificate errors are not ignored."""
    home = tmp_path_factory.mktemp("chromium-home")
    nss = home / ".pki" / "nssdb"
    nss.mkdir(parents=True)
    for command in (
        [CERTUTIL, "-d", f"sql:{nss}", "-N", "--empty-password"],
        [CERTUTIL, "-d", f"sql:{nss}", "-A", "-t", "C,,", "-n", "Telehealth dev CA"]
        + ["-i", str(https_server.ca)],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=60)
    chromium = playwright_driver.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"],
        env={**os.environ, "HOME": str(home)},
    )
    try:
        yield chromium
    finally:
        chromium.close()


GET_CAMERA_AND_MICROPHONE = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
  const kinds = stream.getTracks().map((track) => track.kind).sort();
  stream.getTracks().forEach((track) => track.stop());
  return kinds;
}"""


def test_a_trusted_dev_certificate_gives_a_secure_context_with_camera_and_microphone(
    trusting_browser: Browser, https_server: HttpsServer
) -> None:
    context = trusting_browser.new_context()  # ignore_https_errors stays False
    try:
        page = context.new_page()
        response = page.goto(https_server.base_url + "/clinician")
        assert response is not None and response.ok
        assert response.headers["strict-transport-security"] == (
            "max-age=31536000; includeSubDomains"
        )
        expect(page.get_by_role("heading", level=1)).to_have_text("Clinician sign in")
        assert page.evaluate("window.location.host") == https_server.base_url.split("//")[1]
        assert page.evaluate("window.isSecureContext") is True
        assert page.evaluate(GET_CAMERA_AND_MICROPHONE) == ["audio", "video"]

        # Signing in over https: the browser keeps a Secure __Host- cookie, and nothing else.
        page.get_by_label("Email").fill(CLINICIAN_EMAIL)
        page.get_by_label("Password").fill(CLINICIAN_PASSWORD)
        page.get_by_label("Password").press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Today's visits")
        cookies = context.cookies()
        assert [cookie["name"] for cookie in cookies] == ["__Host-th_clinician"]
        (cookie,) = cookies
        assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert cookie["path"] == "/" and cookie["domain"] == HOST
    finally:
        context.close()
