"""`telehealth serve` as an operator runs it: over https with a `tls dev-cert` certificate
(cookies, HSTS, the websocket, checked against the CA), and behind a proxy whose forwarded
headers count only when it is one of TELEHEALTH_TRUSTED_PROXIES."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.telehealth.test_cli import assert_one_clear_line, environment, free_port, telehealth

EMAIL = "dr.tls@clinic.example"
PASSWORD = "correct horse battery staple 42"
HSTS = "max-age=31536000; includeSubDomains"
UNAUTHENTICATED = 4401
STARTUP_TIMEOUT_S = 40.0


@dataclass(frozen=True)
class Running:
    base_url: str
    verify: ssl.SSLContext | bool
    ca: Path | None = None


def _create_staff(tmp_path: Path, role: str, email: str, env: dict[str, str]) -> None:
    created = telehealth(
        tmp_path,
        role,
        "create",
        "--email",
        email,
        "--name",
        f"Test {role}",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        **env,
    )
    assert created.returncode == 0, created.stderr


@contextmanager
def _serving(
    tmp_path: Path, base_url: str, verify: ssl.SSLContext | bool, **env: str
) -> Iterator[None]:
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "telehealth", "serve"],
            cwd=tmp_path,
            env=environment(tmp_path, **env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(f"{base_url}/healthz", verify=verify, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """`telehealth serve` with the certificate `telehealth tls dev-cert` made for 127.0.0.1."""
    tmp_path = tmp_path_factory.mktemp("https-server")
    made = telehealth(tmp_path, "tls", "dev-cert", "--host", "127.0.0.1")
    assert made.returncode == 0, made.stderr
    settings = dict(
        line.strip().split("=", 1)
        for line in made.stdout.splitlines()
        if line.strip().startswith(("TELEHEALTH_TLS_CERT=", "TELEHEALTH_TLS_KEY="))
    )
    port = free_port()
    settings["TELEHEALTH_PORT"] = str(port)
    _create_staff(tmp_path, "clinician", EMAIL, settings)
    ca = tmp_path / "var" / "tls" / "ca.pem"
    base_url = f"https://127.0.0.1:{port}"
    with _serving(tmp_path, base_url, _trusting(ca), **settings):
        yield Running(base_url, _trusting(ca), ca)


def _cookie_of(response: httpx.Response) -> tuple[str, list[str]]:
    """The one Set-Cookie of a response: name=value, and its attributes (lower case)."""
    (header,) = response.headers.get_list("set-cookie")
    cookie, *attributes = (part.strip() for part in header.split(";"))
    return cookie, sorted(attribute.lower() for attribute in attributes)


def test_https_serves_hsts_and_host_prefixed_secure_session_cookies(https_server: Running) -> None:
    with httpx.Client(base_url=https_server.base_url, verify=https_server.verify) as client:
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.headers["strict-transport-security"] == HSTS
        page = client.get("/clinician")
        assert page.headers["strict-transport-security"] == HSTS

        login = client.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert login.status_code == 200, login.text
        assert login.headers["strict-transport-security"] == HSTS
        cookie, attributes = _cookie_of(login)
        name, token = cookie.split("=", 1)
        assert name == "__Host-th_clinician" and len(token) > 30
        assert "secure" in attributes and "path=/" in attributes and "httponly" in attributes
        assert "samesite=strict" in attributes
        assert not any(attribute.startswith("domain") for attribute in attributes)
    prefixed = {"Cookie": f"__Host-th_clinician={token}"}
    plain = {"Cookie": f"th_clinician={token}"}
    with httpx.Client(base_url=https_server.base_url, verify=https_server.verify) as bare:
        assert bare.get("/api/auth/me", headers=prefixed).json()["email"] == EMAIL
        # Over https the unprefixed name is not read: a cookie planted by a plain-http page
        # or a sibling subdomain cannot stand in for a session.
        assert bare.get("/api/auth/me", headers=plain).status_code == 401

        # The patient's session cookie is a __Host- cookie too.
        visit = bare.post(
            "/api/visits",
            json={"scheduled_at": datetime.now(UTC).isoformat()},
            headers=prefixed,
        )
        assert visit.status_code in (200, 201), visit.text
        invite_url = visit.json()["invite_url"]
        assert invite_url.startswith(https_server.base_url + "/join#invite=")
        opened = bare.post(
            "/api/patient/session",
            json={"invite": invite_url.split("#invite=")[1], "display_name": "Jo"},
        )
        assert opened.status_code == 200, opened.text
        patient_cookie, patient_attributes = _cookie_of(opened)
        patient_name, patient_token = patient_cookie.split("=", 1)
        assert patient_name == "__Host-th_patient"
        assert "secure" in patient_attributes and "path=/" in patient_attributes
        mine = bare.get("/api/patient/visit", headers={"Cookie": patient_cookie})
        assert mine.json()["visit_id"] == visit.json()["visit"]["id"]

        # Signing out clears the cookie under the name the browser holds it by.
        out = bare.post("/api/auth/logout", headers=prefixed)
        assert out.status_code == 204
        cleared, cleared_attributes = _cookie_of(out)
        assert cleared.startswith("__Host-th_clinician=")
        assert "max-age=0" in cleared_attributes and "secure" in cleared_attributes
        assert bare.get("/api/auth/me", headers=prefixed).status_code == 401
    assert patient_token


def test_the_websocket_over_https_authenticates_by_the_host_cookie(https_server: Running) -> None:
    with httpx.Client(base_url=https_server.base_url, verify=https_server.verify) as client:
        login = client.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD})
        cookie, _ = _cookie_of(login)
        visit = client.post(
            "/api/visits",
            json={"scheduled_at": datetime.now(UTC).isoformat()},
            headers={"Cookie": cookie},
        ).json()["visit"]
    url = https_server.base_url.replace("https://", "wss://") + f"/ws/visits/{visit['id']}"
    token = cookie.split("=", 1)[1]

    def open_socket(cookie_header: str) -> dict[str, object]:
        with connect(
            url,
            ssl=https_server.verify if isinstance(https_server.verify, ssl.SSLContext) else None,
            additional_headers={"Cookie": cookie_header},
            origin=Origin(https_server.base_url),
            open_timeout=10,
        ) as socket:
            socket.send(json.dumps({"type": "hello", "version": 1}))
            return dict(json.loads(socket.recv(timeout=10)))

    assert open_socket(f"__Host-th_clinician={token}")["type"] == "welcome"
    with pytest.raises(ConnectionClosed) as refused:
        open_socket(f"th_clinician={token}")
    assert refused.value.rcvd is not None and refused.value.rcvd.code == UNAUTHENTICATED


def test_https_only_speaks_tls_1_2_or_later(https_server: Running) -> None:
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(cafile=str(https_server.ca))
    old.check_hostname = False
    # Let this client offer TLS 1.1 (OpenSSL's default security level would refuse it).
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # deprecated: the point
        old.minimum_version = ssl.TLSVersion.TLSv1_1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{https_server.base_url}/healthz", verify=old, timeout=5)
    # Plain http to the https port gets no answer from the app either.
    with pytest.raises(httpx.TransportError):
        httpx.get(https_server.base_url.replace("https://", "http://") + "/healthz", timeout=5)


def test_production_refuses_to_start_without_an_https_public_url(tmp_path: Path) -> None:
    refused = telehealth(
        tmp_path,
        "serve",
        TELEHEALTH_ENV="production",
        TELEHEALTH_SECRET_KEY="production-grade-secret-" + "x" * 20,
        TELEHEALTH_PUBLIC_BASE_URL="http://clinic.example",
        TELEHEALTH_PORT=str(free_port()),
    )
    assert_one_clear_line(refused, 1, "TELEHEALTH_PUBLIC_BASE_URL is http://clinic.example: ")
    assert "https" in refused.stderr


TRUSTED_PROXY = "127.0.0.2"  # loopback too: a client can send from it on Linux


@pytest.fixture(scope="module")
def proxied_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """Plain http on loopback, believing forwarded headers from 127.0.0.2 only; an address
    is throttled after 3 failed sign-ins in a minute."""
    tmp_path = tmp_path_factory.mktemp("proxied-server")
    port = free_port()
    settings = {
        "TELEHEALTH_PORT": str(port),
        "TELEHEALTH_TRUSTED_PROXIES": TRUSTED_PROXY,
        "TELEHEALTH_LOGIN_ADDRESS_FAILURES": "5",
    }
    _create_staff(tmp_path, "clinician", EMAIL, settings)
    base_url = f"http://127.0.0.1:{port}"
    with _serving(tmp_path, base_url, False, **settings):
        yield Running(base_url, False)


@contextmanager
def _client_from(base_url: str, address: str) -> Iterator[httpx.Client]:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=base_url, transport=transport, timeout=30) as client:
        yield client


def _sign_in_failures(client: httpx.Client, forwarded_for: list[str]) -> list[int]:
    """Fail a sign-in once per forwarded address (each for an account of its own, so only
    the per-address count can throttle); the status codes."""
    codes = []
    for number, address in enumerate(forwarded_for):
        failed = client.post(
            "/api/auth/login",
            json={"email": f"nobody.{address}.{number}@clinic.example", "password": "wrong!"},
            headers={"X-Forwarded-For": address, "X-Forwarded-Proto": "https"},
        )
        codes.append(failed.status_code)
    return codes


def test_a_forged_forwarded_for_is_ignored_unless_a_trusted_proxy_sent_it(
    proxied_server: Running,
) -> None:
    base_url = proxied_server.base_url
    with _client_from(base_url, TRUSTED_PROXY) as proxy:
        # Through the proxy each forwarded client has its own count: none is throttled...
        spread = ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"]
        assert _sign_in_failures(proxy, spread) == [401, 401, 401, 401]
        # ... and one forwarded client failing again and again is (the 4th try in a minute).
        assert _sign_in_failures(proxy, ["198.51.100.9"] * 4) == [401, 401, 401, 429]
    with _client_from(base_url, "127.0.0.1") as direct:
        # From anyone else the header is ignored: every try counts against the peer itself.
        forged = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"]
        assert _sign_in_failures(direct, forged) == [401, 401, 401, 429]


def test_a_forged_forwarded_proto_is_ignored_unless_a_trusted_proxy_sent_it(
    proxied_server: Running,
) -> None:
    forged_https = {"X-Forwarded-Proto": "https"}
    sign_in = {"email": EMAIL, "password": PASSWORD}
    with (
        _client_from(proxied_server.base_url, "127.0.0.3") as direct,
        _client_from(proxied_server.base_url, TRUSTED_PROXY) as proxy,
    ):
        # Not believed: no HSTS, and cookies keep the plain-http names and flags.
        plain = direct.get("/healthz", headers=forged_https)
        assert "strict-transport-security" not in plain.headers
        login = direct.post("/api/auth/login", json=sign_in, headers=forged_https)
        assert login.status_code == 200, login.text
        assert login.headers["set-cookie"].startswith("th_clinician=")
        assert "secure" not in login.headers["set-cookie"].lower()
        # Believed from the proxy that ended TLS: HSTS and a Secure __Host- cookie.
        proxied = proxy.get("/healthz", headers=forged_https)
        assert proxied.headers["strict-transport-security"] == HSTS
        login = proxy.post("/api/auth/login", json=sign_in, headers=forged_https)
        assert login.status_code == 200, login.text
        assert login.headers["set-cookie"].startswith("__Host-th_clinician=")
        assert "; secure" in login.headers["set-cookie"].lower()


def test_no_code_reads_forwarded_headers_itself() -> None:
    # uvicorn (configured by telehealth/serving.py) is the one place that believes them.
    root = Path(__file__).resolve().parents[2]
    readers = []
    for package in ("telehealth", "signaling", "voice"):
        for source in (root / package).rglob("*.py"):
            text = source.read_text(encoding="utf-8").lower()
            # A header name in a string: "x-forwarded-for", b"x-forwarded-proto", "forwarded".
            if any(quote + "x-forwarded" in text for quote in "\"'") or '"forwarded"' in text:
                readers.append(os.fspath(source.relative_to(root)))
    assert readers == [], readers


def test_dev_cert_prints_the_settings_and_how_to_trust_the_ca(tmp_path: Path) -> None:
    # TLS settings naming files not made yet do not stop the command that makes them.
    missing = {
        "TELEHEALTH_TLS_CERT": str(tmp_path / "var" / "tls" / "server.pem"),
        "TELEHEALTH_TLS_KEY": str(tmp_path / "var" / "tls" / "server-key.pem"),
        "TELEHEALTH_PORT": "8443",
    }
    first = telehealth(tmp_path, "tls", "dev-cert", "--host", "clinic.lan", **missing)
    assert first.returncode == 0, first.stderr
    tls = (tmp_path / "var" / "tls").resolve()
    out = first.stdout
    assert out.startswith(f"Made a development CA: {tls}/ca.pem\n")
    for line in (
        f"  TELEHEALTH_TLS_CERT={tls}/server.pem",
        f"  TELEHEALTH_TLS_KEY={tls}/server-key.pem",
        "  TELEHEALTH_PUBLIC_BASE_URL=https://clinic.lan:8443",
        # Debian/Ubuntu, NSS (Chromium, Firefox), macOS, Windows.
        f"    sudo cp {tls}/ca.pem /usr/local/share/ca-certificates/telehealth-dev-ca.crt",
        "    sudo update-ca-certificates",
        f'    certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "Telehealth development CA" '
        f"-i {tls}/ca.pem",
        "    sudo security add-trusted-cert -d -r trustRoot -k "
        f"/Library/Keychains/System.keychain {tls}/ca.pem",
        "    certutil -addstore -f Root ca.pem",
    ):
        assert line in out.splitlines(), line
    assert "ca-key.pem is readable by you only: never copy it" in out
    # A second run keeps the CA (devices trusting it go on trusting) for a new certificate.
    again = telehealth(tmp_path, "tls", "dev-cert", "--host", "192.168.1.20", **missing)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"Reused the development CA {tls}/ca.pem")
    assert "TELEHEALTH_PUBLIC_BASE_URL=https://192.168.1.20:8443" in again.stdout
    assert_one_clear_line(
        telehealth(tmp_path, "tls", "dev-cert", "--host", "not a host"),
        1,
        "is neither an IP address nor a DNS host name",
    )
