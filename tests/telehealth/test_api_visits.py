"""Clinician login, visits, invites, patient sessions and ICE configuration over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from telehealth.clinicians import create_clinician
from tests.conftest import make_settings
from tests.telehealth.api_client import client_for, running_app

PASSWORD = "a long enough passphrase"


@pytest_asyncio.fixture
async def app(tmp_path: Path, database_url: str) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        ice_servers=["stun:stun.clinic.example:3478", "turn:turn.clinic.example:3478"],
        turn_secret="north-wind-shared-secret",
    )
    async with running_app(settings) as running:
        async with running.state.services.database.session() as session:
            await create_clinician(
                session, email="ada@clinic.example", display_name="Dr Ada", password=PASSWORD
            )
            await create_clinician(
                session, email="bo@clinic.example", display_name="Dr Bo", password=PASSWORD
            )
        yield running


@asynccontextmanager
async def signed_in(
    app: FastAPI, email: str = "ada@clinic.example"
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        response = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        yield client


@pytest.mark.asyncio
async def test_login_sets_a_strict_httponly_cookie_and_logout_ends_it(app: FastAPI) -> None:
    async with client_for(app) as client:
        wrong = await client.post(
            "/api/auth/login", json={"email": "ada@clinic.example", "password": "nope"}
        )
        assert wrong.status_code == 401
        unknown = await client.post(
            "/api/auth/login", json={"email": "who@clinic.example", "password": PASSWORD}
        )
        assert unknown.status_code == 401 and unknown.json() == wrong.json()
        assert (await client.get("/api/auth/me")).status_code == 401

        response = await client.post(
            "/api/auth/login", json={"email": "ADA@clinic.example", "password": PASSWORD}
        )
        cookie = response.headers["set-cookie"].lower()
        assert "th_clinician=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        assert (await client.get("/api/auth/me")).json()["display_name"] == "Dr Ada"
        stolen = client.cookies.get("th_clinician")

        assert (await client.post("/api/auth/logout")).status_code == 204
        assert (await client.get("/api/auth/me")).status_code == 401
    # The old cookie is dead on the server, not just forgotten by the browser.
    async with client_for(app) as replay:
        replay.cookies.set("th_clinician", stolen or "")
        assert (await replay.get("/api/auth/me")).status_code == 401


@pytest.mark.asyncio
async def test_visits_create_list_cancel(app: FastAPI) -> None:
    now = datetime.now(UTC)
    async with signed_in(app) as ada:
        created = await ada.post(
            "/api/visits",
            json={
                "scheduled_at": (now + timedelta(minutes=30)).isoformat(),
                "patient_label": "J. D.",
            },
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["visit"]["status"] == "scheduled"
        assert body["invite_url"].startswith("http://127.0.0.1:8000/join#invite=")
        later = await ada.post(
            "/api/visits", json={"scheduled_at": (now + timedelta(days=3)).isoformat()}
        )
        naive = await ada.post("/api/visits", json={"scheduled_at": "2026-12-01T10:00:00"})
        assert naive.status_code == 422

        upcoming = (await ada.get("/api/visits", params={"range": "upcoming"})).json()
        ids = [v["id"] for v in upcoming["visits"]]
        assert ids == [body["visit"]["id"], later.json()["visit"]["id"]]

        visit_id = body["visit"]["id"]
        cancelled = await ada.post(f"/api/visits/{visit_id}/cancel")
        assert cancelled.json()["status"] == "cancelled"
        assert (await ada.post(f"/api/visits/{visit_id}/cancel")).status_code == 200
        token = body["invite_url"].split("#invite=")[1]

    async with signed_in(app, "bo@clinic.example") as bo:
        assert (await bo.get(f"/api/visits/{visit_id}")).status_code == 404
        assert (await bo.post(f"/api/visits/{visit_id}/cancel")).status_code == 404
        assert (await bo.get("/api/visits", params={"range": "upcoming"})).json()["visits"] == []

    async with client_for(app) as patient:
        refused = await patient.post(
            "/api/patient/session", json={"invite": token, "display_name": "Jo"}
        )
        assert refused.status_code == 403
        assert "no longer open" in refused.json()["detail"]


@pytest.mark.asyncio
async def test_patient_session_is_scoped_to_its_visit(app: FastAPI) -> None:
    async with signed_in(app) as ada:
        created = (
            await ada.post("/api/visits", json={"scheduled_at": datetime.now(UTC).isoformat()})
        ).json()
    token = created["invite_url"].split("#invite=")[1]
    async with client_for(app) as patient:
        assert (await patient.get("/api/patient/visit")).status_code == 401
        bad = await patient.post(
            "/api/patient/session", json={"invite": "x" * 43, "display_name": "Jo"}
        )
        assert bad.status_code == 403
        opened = await patient.post(
            "/api/patient/session", json={"invite": token, "display_name": "Jo"}
        )
        assert opened.status_code == 200
        assert opened.json()["clinician_name"] == "Dr Ada"
        assert "th_patient=" in opened.headers["set-cookie"]
        mine = (await patient.get("/api/patient/visit")).json()
        assert mine["visit_id"] == created["visit"]["id"] and mine["display_name"] == "Jo"
        # A patient session is not a clinician session.
        assert (await patient.get("/api/visits")).status_code == 401


@pytest.mark.asyncio
async def test_ice_servers_with_coturn_rest_credentials(app: FastAPI) -> None:
    async with signed_in(app) as ada:
        created = await ada.post(
            "/api/visits", json={"scheduled_at": datetime.now(UTC).isoformat()}
        )
        visit_id = created.json()["visit"]["id"]
        asked_at = datetime.now(UTC).timestamp()
        servers = (await ada.get("/api/ice", params={"visit": visit_id})).json()["iceServers"]
    async with client_for(app) as anonymous:
        assert (await anonymous.get("/api/ice", params={"visit": visit_id})).status_code == 401
    assert servers[0] == {"urls": ["stun:stun.clinic.example:3478"]}
    turn = servers[1]
    assert turn["urls"] == ["turn:turn.clinic.example:3478"]
    expiry, _, user = turn["username"].partition(":")
    # Short-lived: the default lifetime is ten minutes.
    assert asked_at + 590 <= int(expiry) <= datetime.now(UTC).timestamp() + 601 and user
    expected = base64.b64encode(
        hmac.new(b"north-wind-shared-secret", turn["username"].encode(), hashlib.sha1).digest()
    ).decode()
    assert turn["credential"] == expected


@pytest.mark.asyncio
async def test_ice_is_empty_when_nothing_is_configured(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as app:
        async with app.state.services.database.session() as session:
            await create_clinician(
                session, email="c@clinic.example", display_name="C", password=PASSWORD
            )
        async with signed_in(app, "c@clinic.example") as client:
            created = await client.post(
                "/api/visits", json={"scheduled_at": datetime.now(UTC).isoformat()}
            )
            visit = {"visit": created.json()["visit"]["id"]}
            assert (await client.get("/api/ice", params=visit)).json() == {
                "iceServers": [],
                "iceTransportPolicy": "all",
            }
