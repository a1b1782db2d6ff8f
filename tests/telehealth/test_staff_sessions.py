"""Staff sessions: idle end, cap from sign-in, a new id at sign-in, one's own session list,
deactivation taking effect at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import update

from telehealth.clinicians import create_clinician
from telehealth.security import hash_token
from telehealth.storage.models import Clinician, Session
from tests.conftest import make_settings
from tests.telehealth.api_client import client_for, running_app
from tests.telehealth.test_api_session_extend import assert_about, instant

PASSWORD = "a long enough passphrase"
IDLE = timedelta(minutes=15)


@pytest_asyncio.fixture
async def app(tmp_path: Path, database_url: str) -> AsyncIterator[FastAPI]:
    async with running_app(make_settings(tmp_path, database_url=database_url)) as running:
        async with running.state.services.database.session() as session:
            for name in ("ada", "bo"):
                await create_clinician(
                    session,
                    email=f"{name}@clinic.example",
                    display_name=f"Dr {name.title()}",
                    password=PASSWORD,
                )
        yield running


async def sign_in(client: httpx.AsyncClient, name: str = "ada") -> str:
    response = await client.post(
        "/api/auth/login", json={"email": f"{name}@clinic.example", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    cookie = client.cookies.get("th_clinician")
    assert cookie
    return cookie


async def set_session(app: FastAPI, cookie: str, **values: object) -> None:
    async with app.state.services.database.session() as session:
        await session.execute(
            update(Session).where(Session.token_hash == hash_token(cookie)).values(**values)
        )


async def ends(client: httpx.AsyncClient) -> datetime:
    me = await client.get("/api/auth/me")
    assert me.status_code == 200, me.text
    return instant(me.json()["expires_at"])


@pytest.mark.asyncio
async def test_the_reported_end_is_the_idle_end_and_an_idle_session_is_over(
    app: FastAPI,
) -> None:
    async with client_for(app) as client:
        cookie = await sign_in(client)
        # The lifetime is 8 hours, but 15 idle minutes come first: the page warns for those.
        assert_about(await ends(client), datetime.now(UTC) + IDLE)

        await set_session(app, cookie, idle_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        assert (await client.get("/api/auth/me")).status_code == 401
        assert (await client.post("/api/auth/extend")).status_code == 401
        assert (await client.get("/api/visits")).status_code == 401


@pytest.mark.asyncio
async def test_changes_and_staying_signed_in_are_activity_reading_is_not(app: FastAPI) -> None:
    async with client_for(app) as client:
        cookie = await sign_in(client)
        soon = datetime.now(UTC) + timedelta(minutes=1)
        await set_session(app, cookie, idle_expires_at=soon)
        # A page refreshing itself must not keep an unattended session open.
        assert (await client.get("/api/visits")).status_code == 200
        assert abs(await ends(client) - soon) < timedelta(seconds=1)

        created = await client.post(
            "/api/visits", json={"scheduled_at": datetime.now(UTC).isoformat()}
        )
        assert created.status_code == 201
        assert_about(await ends(client), datetime.now(UTC) + IDLE)

        await set_session(app, cookie, idle_expires_at=soon)
        extended = await client.post("/api/auth/extend")
        assert extended.status_code == 200
        assert_about(instant(extended.json()["expires_at"]), datetime.now(UTC) + IDLE)


@pytest.mark.asyncio
async def test_extending_never_passes_the_cap_from_sign_in(app: FastAPI) -> None:
    async with client_for(app) as client:
        cookie = await sign_in(client)
        cap = datetime.now(UTC) + timedelta(minutes=5)
        await set_session(app, cookie, max_expires_at=cap)
        for _ in range(2):
            extended = await client.post("/api/auth/extend")
            assert extended.status_code == 200
            assert abs(instant(extended.json()["expires_at"]) - cap) < timedelta(seconds=1)
        await set_session(app, cookie, max_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        assert (await client.post("/api/auth/extend")).status_code == 401


@pytest.mark.asyncio
async def test_sign_in_issues_a_new_session_id_and_ends_the_one_before(app: FastAPI) -> None:
    async with client_for(app) as client:
        first = await sign_in(client)
        second = await sign_in(client)
        assert first != second
    async with client_for(app) as replay:
        replay.cookies.set("th_clinician", first)
        assert (await replay.get("/api/auth/me")).status_code == 401
        replay.cookies.set("th_clinician", second)
        assert (await replay.get("/api/auth/me")).status_code == 200


@pytest.mark.asyncio
async def test_staff_see_their_own_sessions_and_end_the_others(app: FastAPI) -> None:
    async with (
        client_for(app) as desk,
        client_for(app) as laptop,
        client_for(app) as tablet,
        client_for(app) as bo,
    ):
        for client in (desk, laptop, tablet):
            await sign_in(client)
        await sign_in(bo, "bo")

        listed = (await desk.get("/api/auth/sessions")).json()["sessions"]
        assert len(listed) == 3
        assert [s["current"] for s in listed].count(True) == 1
        laptop_id = next(
            s["id"]
            for s in (await laptop.get("/api/auth/sessions")).json()["sessions"]
            if s["current"]
        )
        bos_id = (await bo.get("/api/auth/sessions")).json()["sessions"][0]["id"]
        assert bos_id not in {s["id"] for s in listed}

        # Another person's session cannot be ended, nor seen; the answer does not say it exists.
        refused = await desk.delete(f"/api/auth/sessions/{bos_id}")
        assert refused.status_code == 404
        assert (await bo.get("/api/auth/me")).status_code == 200
        assert (await bo.delete(f"/api/auth/sessions/{laptop_id}")).status_code == 404
        assert (await laptop.get("/api/auth/me")).status_code == 200

        assert (await desk.delete(f"/api/auth/sessions/{laptop_id}")).status_code == 204
        assert (await laptop.get("/api/auth/me")).status_code == 401
        assert (await desk.delete(f"/api/auth/sessions/{laptop_id}")).status_code == 404

        ended = await desk.delete("/api/auth/sessions")
        assert ended.json() == {"ended": 1}
        assert (await tablet.get("/api/auth/me")).status_code == 401
        assert (await desk.get("/api/auth/me")).status_code == 200
        assert (await bo.get("/api/auth/me")).status_code == 200
        assert len((await desk.get("/api/auth/sessions")).json()["sessions"]) == 1

    async with client_for(app) as anonymous:
        assert (await anonymous.get("/api/auth/sessions")).status_code == 401
        assert (await anonymous.delete(f"/api/auth/sessions/{bos_id}")).status_code == 401
        assert (await anonymous.delete("/api/auth/sessions")).status_code == 401


@pytest.mark.asyncio
async def test_a_deactivated_clinician_is_refused_at_the_next_request(app: FastAPI) -> None:
    async with client_for(app) as client:
        await sign_in(client)
        async with app.state.services.database.session() as session:
            await session.execute(
                update(Clinician)
                .where(Clinician.email == "ada@clinic.example")
                .values(is_active=False)
            )
        assert (await client.get("/api/auth/me")).status_code == 401
        assert (await client.post("/api/auth/extend")).status_code == 401
        assert (await client.get("/api/visits")).status_code == 401
        assert (
            await client.post("/api/visits", json={"scheduled_at": datetime.now(UTC).isoformat()})
        ).status_code == 401
        again = await client.post(
            "/api/auth/login", json={"email": "ada@clinic.example", "password": PASSWORD}
        )
        assert again.status_code == 401


@pytest.mark.asyncio
async def test_without_any_staff_account_sign_in_is_refused_clearly(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as app, client_for(app) as client:
        refused = await client.post(
            "/api/auth/login", json={"email": "demo@clinic.example", "password": "anything"}
        )
    assert refused.status_code == 503
    assert "telehealth clinician create" in refused.json()["detail"]
