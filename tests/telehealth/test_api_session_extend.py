"""When sessions end, and extending them: `/api/auth/me`, `/api/auth/extend`,
`/api/patient/session`, `/api/patient/extend`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select, update

from telehealth.api.patient import PATIENT_SESSION_TTL
from telehealth.clinicians import create_clinician
from telehealth.security import hash_token
from telehealth.storage.models import AuditEvent, Session
from tests.conftest import make_settings
from tests.telehealth.api_client import client_for, running_app

PASSWORD = "a long enough passphrase"
TTL = timedelta(minutes=30)
# Requests, commits and a busy machine: "now" on the server is within this of ours.
CLOCK_SLACK = timedelta(seconds=30)


@pytest_asyncio.fixture
async def app(tmp_path: Path, database_url: str) -> AsyncIterator[FastAPI]:
    # An idle timeout longer than the lifetime: these tests are about the lifetime
    # (tests/telehealth/test_staff_sessions.py covers the idle end and the cap).
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        session_ttl_minutes=int(TTL.total_seconds() / 60),
        staff_idle_timeout_minutes=int(TTL.total_seconds() / 60) + 60,
    )
    async with running_app(settings) as running:
        async with running.state.services.database.session() as session:
            await create_clinician(
                session, email="ada@clinic.example", display_name="Dr Ada", password=PASSWORD
            )
        yield running


async def sign_in(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/login", json={"email": "ada@clinic.example", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text


async def open_patient(app: FastAPI, patient: httpx.AsyncClient) -> str:
    """Schedule a visit as the clinician and open it as the patient; the visit id."""
    async with client_for(app) as clinician:
        await sign_in(clinician)
        created = await clinician.post(
            "/api/visits", json={"scheduled_at": datetime.now(UTC).isoformat()}
        )
    token = created.json()["invite_url"].split("#invite=")[1]
    opened = await patient.post(
        "/api/patient/session", json={"invite": token, "display_name": "Jo"}
    )
    assert opened.status_code == 200, opened.text
    return str(created.json()["visit"]["id"])


async def set_expiry(app: FastAPI, cookie: str | None, expires_at: datetime) -> None:
    """Move a session's end in the database, as time passing would."""
    assert cookie
    async with app.state.services.database.session() as session:
        await session.execute(
            update(Session)
            .where(Session.token_hash == hash_token(cookie))
            .values(expires_at=expires_at)
        )


def instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), f"{value} is not UTC"
    return parsed


def assert_about(value: datetime, expected: datetime) -> None:
    assert abs(value - expected) < CLOCK_SLACK, f"{value} is not about {expected}"


@pytest.mark.asyncio
async def test_me_says_when_the_clinician_session_ends(app: FastAPI) -> None:
    async with client_for(app) as client:
        await sign_in(client)
        me = (await client.get("/api/auth/me")).json()
        assert me["display_name"] == "Dr Ada"
        assert_about(instant(me["expires_at"]), datetime.now(UTC) + TTL)


@pytest.mark.asyncio
async def test_extend_moves_the_end_to_one_lifetime_from_now_and_renews_the_cookie(
    app: FastAPI,
) -> None:
    async with client_for(app) as client:
        await sign_in(client)
        cookie = client.cookies.get("th_clinician")
        # Two minutes left, as when the page warns.
        await set_expiry(app, cookie, datetime.now(UTC) + timedelta(minutes=2))
        before = instant((await client.get("/api/auth/me")).json()["expires_at"])

        extended = await client.post("/api/auth/extend")
        assert extended.status_code == 200, extended.text
        new_end = instant(extended.json()["expires_at"])
        assert_about(new_end, datetime.now(UTC) + TTL)
        assert new_end - before > TTL - timedelta(minutes=2) - CLOCK_SLACK
        assert instant((await client.get("/api/auth/me")).json()["expires_at"]) == new_end

        # The browser keeps the same cookie for the new lifetime, not the old one.
        set_cookie = extended.headers["set-cookie"].lower()
        assert f"th_clinician={cookie}".lower() in set_cookie
        assert f"max-age={int(TTL.total_seconds())}" in set_cookie
        assert "httponly" in set_cookie and "samesite=strict" in set_cookie

        # Extending again never reaches beyond one lifetime from now.
        again = instant((await client.post("/api/auth/extend")).json()["expires_at"])
        assert_about(again, datetime.now(UTC) + TTL)
        assert again - new_end < CLOCK_SLACK

    async with app.state.services.database.session() as session:
        actions = (await session.execute(select(AuditEvent.action))).scalars().all()
    assert actions.count("session.extended") == 2


@pytest.mark.asyncio
async def test_extend_refuses_no_expired_and_revoked_sessions(app: FastAPI) -> None:
    async with client_for(app) as nobody:
        refused = await nobody.post("/api/auth/extend")
        assert refused.status_code == 401
        assert refused.json()["detail"] == "please sign in"

    async with client_for(app) as client:
        await sign_in(client)
        cookie = client.cookies.get("th_clinician")
        await set_expiry(app, cookie, datetime.now(UTC) - timedelta(seconds=1))
        assert (await client.post("/api/auth/extend")).status_code == 401
        assert (await client.get("/api/auth/me")).status_code == 401

    async with client_for(app) as client:
        await sign_in(client)
        cookie = client.cookies.get("th_clinician")
        assert (await client.post("/api/auth/logout")).status_code == 204
    async with client_for(app) as replay:
        replay.cookies.set("th_clinician", cookie or "")
        assert (await replay.post("/api/auth/extend")).status_code == 401


@pytest.mark.asyncio
async def test_patient_session_can_be_extended_while_the_visit_is_open(app: FastAPI) -> None:
    async with client_for(app) as patient:
        visit_id = await open_patient(app, patient)
        cookie = patient.cookies.get("th_patient")
        mine = (await patient.get("/api/patient/session")).json()
        assert_about(instant(mine["expires_at"]), datetime.now(UTC) + PATIENT_SESSION_TTL)

        # Opened early, the session would end before a late-running visit does.
        await set_expiry(app, cookie, datetime.now(UTC) + timedelta(minutes=1))
        extended = await patient.post("/api/patient/extend")
        assert extended.status_code == 200, extended.text
        new_end = instant(extended.json()["expires_at"])
        assert_about(new_end, datetime.now(UTC) + PATIENT_SESSION_TTL)
        assert instant((await patient.get("/api/patient/session")).json()["expires_at"]) == (
            new_end
        )
        assert f"max-age={int(PATIENT_SESSION_TTL.total_seconds())}" in (
            extended.headers["set-cookie"].lower()
        )
        # A patient session does not extend a clinician's, nor the other way round.
        assert (await patient.post("/api/auth/extend")).status_code == 401

        async with client_for(app) as clinician:
            await sign_in(clinician)
            assert (await clinician.post("/api/patient/extend")).status_code == 401
            cancelled = await clinician.post(f"/api/visits/{visit_id}/cancel")
            assert cancelled.json()["status"] == "cancelled"
        # Once the visit is over its patient session is over too: nothing to extend.
        for closed in (
            await patient.post("/api/patient/extend"),
            await patient.get("/api/patient/session"),
        ):
            assert closed.status_code == 401
            assert closed.json()["detail"] == "This visit is closed."

    async with client_for(app) as nobody:
        assert (await nobody.get("/api/patient/session")).status_code == 401
        assert (await nobody.post("/api/patient/extend")).status_code == 401
