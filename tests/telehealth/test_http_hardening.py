"""Headers on every response, the body limit, cross-site refusals, quiet 422s, no docs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from telehealth.clinicians import create_clinician
from telehealth.deps import current_time
from telehealth.middleware.headers import CONTENT_SECURITY_POLICY
from telehealth.storage.models import StaffRole
from tests.conftest import make_settings
from tests.telehealth.api_client import client_for, running_app
from tests.telehealth.live_server import free_port, live_server
from tests.telehealth.test_error_pages import NAVIGATION, add_failing_routes

PASSWORD = "a long enough passphrase"
ORIGIN = "http://127.0.0.1:8000"


@pytest_asyncio.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    async with running_app(make_settings(tmp_path)) as running:
        async with running.state.services.database.session() as session:
            await create_clinician(
                session, email="ada@clinic.example", display_name="Dr Ada", password=PASSWORD
            )
        add_failing_routes(running)
        yield running


@asynccontextmanager
async def signed_in_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
        login = await client.post(
            "/api/auth/login", json={"email": "ada@clinic.example", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        yield client


def assert_hardened(response: httpx.Response) -> None:
    headers = response.headers
    csp = headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    policy = headers["permissions-policy"]
    for feature in ("camera", "microphone", "display-capture"):
        assert f"{feature}=(self)" in policy
    assert "server" not in headers


@pytest.mark.asyncio
async def test_every_kind_of_response_carries_the_security_headers(app: FastAPI) -> None:
    async with signed_in_client(app) as client:
        responses = {
            "page": await client.get("/clinician", headers={"Accept": NAVIGATION}),
            "api": await client.get("/api/visits"),
            "static": await client.get("/static/css/site.css"),
            "404 page": await client.get("/nowhere", headers={"Accept": NAVIGATION}),
            "500": await client.get("/api/broken"),
            "probe": await client.get("/healthz"),
        }
    async with client_for(app) as anonymous:
        responses["401"] = await anonymous.get("/api/transcripts")
    assert [r.status_code for r in responses.values()] == [200, 200, 200, 404, 500, 200, 401]
    for name, response in responses.items():
        assert_hardened(response)
        # Served over plain http with an http public URL: no HSTS, which would lock it out.
        assert "strict-transport-security" not in response.headers, name
    # PHI may be in any API answer and on any page that fetches it: never stored by caches.
    for name in ("page", "api", "404 page", "401", "500"):
        assert responses[name].headers["cache-control"] == "no-store", name
    assert "no-store" not in responses["static"].headers.get("cache-control", "")


@pytest.mark.asyncio
async def test_hsts_when_the_public_url_is_https(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, public_base_url="https://clinic.example")
    async with running_app(settings) as app, client_for(app, "https://clinic.example") as client:
        for response in (await client.get("/"), await client.get("/api/auth/me")):
            assert response.headers["strict-transport-security"].startswith("max-age=")
            assert_hardened(response)


@pytest.mark.asyncio
async def test_a_foreign_origin_or_cross_site_fetch_cannot_change_anything(app: FastAPI) -> None:
    now = datetime.now(UTC)
    app.dependency_overrides[current_time] = lambda: now  # the visit is "today" at any hour
    body = {"scheduled_at": now.isoformat(), "patient_label": "Mrs D."}
    async with signed_in_client(app) as client:
        for headers in (
            {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
            {"Origin": "https://evil.example"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
            # Same host, other port: another origin.
            {"Origin": "http://127.0.0.1:9999", "Sec-Fetch-Site": "same-site"},
        ):
            refused = await client.post("/api/visits", json=body, headers=headers)
            assert refused.status_code == 403, headers
            assert refused.json() == {"detail": "requests from other sites are refused"}
            assert_hardened(refused)
        for method in ("PUT", "PATCH", "DELETE"):
            refused = await client.request(
                method, "/api/visits/x", headers={"Origin": "https://evil.example"}
            )
            assert refused.status_code == 403, method
        assert (await client.get("/api/visits")).json()["visits"] == []

        # Reading is not refused (the browser will not show another site the answer), and
        # our own pages' requests, or clients that send no Origin, go through.
        assert (
            await client.get("/api/visits", headers={"Origin": "https://evil.example"})
        ).status_code == 200
        for headers in ({"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"}, {}):
            created = await client.post("/api/visits", json=body, headers=headers)
            assert created.status_code == 201, created.text
        assert len((await client.get("/api/visits")).json()["visits"]) == 2


@pytest.mark.asyncio
async def test_validation_errors_never_echo_what_was_sent(app: FastAPI) -> None:
    secret = "my-secret-passphrase-never-echoed"
    async with client_for(app) as client:
        for body in (
            {"password": secret},
            {"email": "ada@clinic.example", "password": {"nested": secret}},
            {"email": ["ada", secret], "password": secret},
        ):
            response = await client.post("/api/auth/login", json=body)
            assert response.status_code == 422, body
            assert secret not in response.text
            detail = response.json()["detail"]
            assert detail and all(set(item) <= {"loc", "msg", "type"} for item in detail)
        broken = await client.post(
            "/api/auth/login",
            content=b'{"password": "' + secret.encode() + b'"',
            headers={"Content-Type": "application/json"},
        )
        assert broken.status_code == 422
        assert secret not in broken.text


@pytest.mark.asyncio
async def test_a_declared_oversized_body_is_refused_before_it_is_read(app: FastAPI) -> None:
    async with client_for(app) as client:
        refused = await client.post(
            "/api/auth/login",
            content=b"{}" + b" " * (1024 * 1024),
            headers={"Content-Type": "application/json"},
        )
    assert refused.status_code == 413
    assert refused.json() == {"detail": "the request body is too large"}
    assert_hardened(refused)


@pytest.mark.asyncio
async def test_the_api_description_is_for_development_or_signed_in_admins(tmp_path: Path) -> None:
    for env, expected in (("development", 200), ("test", 404), ("production", 404)):
        settings = make_settings(
            tmp_path / env,
            env=env,
            secret_key="k" * 40,
            public_base_url="http://127.0.0.1:8000",
            # The second factor is another test's subject; here only the role matters.
            require_mfa=False,
        )
        async with running_app(settings) as app, client_for(app) as client:
            for path in ("/docs", "/openapi.json"):
                assert (await client.get(path)).status_code == expected, (env, path)
            if env != "production":
                continue
            async with app.state.services.database.session() as session:
                for email, role in (("ada@c.example", "clinician"), ("root@c.example", "admin")):
                    await create_clinician(
                        session,
                        email=email,
                        display_name=role,
                        password="a long enough passphrase",
                        role=StaffRole(role),
                    )
            for email, expected_for_staff in (("ada@c.example", 404), ("root@c.example", 200)):
                signed_in = await client.post(
                    "/api/auth/login",
                    json={"email": email, "password": "a long enough passphrase"},
                )
                assert signed_in.status_code == 200, signed_in.text
                for path in ("/docs", "/openapi.json"):
                    assert (await client.get(path)).status_code == expected_for_staff, email
            spec = (await client.get("/openapi.json")).json()
            assert "/api/admin/staff" in spec["paths"]


async def _raw_exchange(port: int, head: bytes, chunks: list[bytes]) -> tuple[bytes, int]:
    """Send a request head and body chunks over a socket; the answer and bytes sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = 0
    try:
        writer.write(head)
        await writer.drain()
        for chunk in chunks:
            if reader.at_eof() or writer.is_closing():
                break
            try:
                writer.write(chunk)
                await writer.drain()
            except ConnectionError:
                break
            sent += len(chunk)
            # Let the server answer as soon as it has had enough.
            await asyncio.sleep(0)
            if len(reader._buffer) > 0:  # type: ignore[attr-defined]
                break
        async with asyncio.timeout(10):
            answer = await reader.read(65536)
    finally:
        writer.close()
    return answer, sent


@pytest.mark.asyncio
async def test_the_live_server_refuses_large_bodies_without_reading_them(tmp_path: Path) -> None:
    port = free_port()
    async with live_server(make_settings(tmp_path, port=port)):
        # 100 MB declared, 10 bytes sent: answered at once.
        head = (
            b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
        )
        answer, _ = await _raw_exchange(port, head, [b'{"email":'])
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"server:" not in answer.lower()

        # Streamed without a length: refused once it passes the limit, not at the end.
        head = (
            b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        piece = b" " * 65536
        chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        answer, sent = await _raw_exchange(port, head, [chunk] * 1600)  # 100 MiB offered
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < 20 * 1024 * 1024
