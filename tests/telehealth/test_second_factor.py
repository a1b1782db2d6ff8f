"""The second factor: TOTP setup with recovery codes, the code step of sign-in, replays,
wrong codes (throttled and audited), half-signed-in sessions refused everywhere else, and
the setting that makes a second factor compulsory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
import pytest_asyncio
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import Connection, select

from telehealth.clinicians import create_clinician
from telehealth.deps import current_time
from telehealth.storage import Database, upgrade_database
from telehealth.storage.models import AuditEvent, Base, TotpFactor
from tests.conftest import make_settings
from tests.telehealth.api_client import client_for, running_app

PASSWORD = "a long enough passphrase"
STEP = timedelta(seconds=30)
CODE_DUE = {"mfa_required": True, "enroll": False, "methods": ["totp"]}
REFUSED_ELSEWHERE = [
    ("GET", "/api/auth/me"),
    ("GET", "/api/visits"),
    ("POST", "/api/auth/extend"),
    ("GET", "/api/auth/sessions"),
]


class Clock:
    """The server's "now" for code checks; the tests make their codes for the same instant."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def _with_staff(running: FastAPI, clock: Clock) -> FastAPI:
    running.dependency_overrides[current_time] = clock
    async with running.state.services.database.session() as session:
        for name in ("ada", "bo"):
            await create_clinician(
                session,
                email=f"{name}@clinic.example",
                display_name=f"Dr {name.title()}",
                password=PASSWORD,
            )
    return running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture
async def app(tmp_path: Path, database_url: str, clock: Clock) -> AsyncIterator[FastAPI]:
    async with running_app(make_settings(tmp_path, database_url=database_url)) as running:
        yield await _with_staff(running, clock)


@pytest_asyncio.fixture
async def strict_app(tmp_path: Path, database_url: str, clock: Clock) -> AsyncIterator[FastAPI]:
    settings = make_settings(tmp_path, database_url=database_url, require_mfa=True)
    async with running_app(settings) as running:
        yield await _with_staff(running, clock)


async def password_step(client: httpx.AsyncClient, name: str = "ada") -> dict[str, Any]:
    response = await client.post(
        "/api/auth/login", json={"email": f"{name}@clinic.example", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def code(secret: str, clock: Clock) -> str:
    return pyotp.TOTP(secret).at(clock.now)


async def enroll(client: httpx.AsyncClient, clock: Clock) -> tuple[str, list[str]]:
    """Set up TOTP for the signed-in client; its key and recovery codes."""
    started = await client.post("/api/auth/mfa/totp")
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    confirmed = await client.post("/api/auth/mfa/totp/confirm", json={"code": code(secret, clock)})
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    return secret, codes


async def enrolled_then_signed_out(
    client: httpx.AsyncClient, clock: Clock
) -> tuple[str, list[str]]:
    await password_step(client)
    secret, codes = await enroll(client, clock)
    assert (await client.post("/api/auth/logout")).status_code == 204
    clock.now += STEP  # the confirming code's step is used up
    return secret, codes


async def audit_rows(app: FastAPI, action: str) -> list[AuditEvent]:
    async with app.state.services.database.session() as session:
        rows = await session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows.scalars())


@pytest.mark.asyncio
async def test_enroll_sign_out_and_sign_in_with_password_and_code(
    app: FastAPI, clock: Clock
) -> None:
    async with client_for(app) as client:
        await password_step(client)
        started = await client.post("/api/auth/mfa/totp")
        assert started.status_code == 200
        shown = started.json()
        assert shown["otpauth_uri"].startswith("otpauth://totp/Telehealth:ada%40clinic.example?")
        assert f"secret={shown['secret']}" in shown["otpauth_uri"]
        assert shown["qr_svg"].startswith("<svg") and "<title>" in shown["qr_svg"]
        async with app.state.services.database.session() as session:
            stored = (await session.execute(select(TotpFactor))).scalar_one()
        assert shown["secret"] not in stored.secret_encrypted

        wrong = await client.post("/api/auth/mfa/totp/confirm", json={"code": "12345"})
        assert wrong.status_code == 400
        secret = shown["secret"]
        confirmed = await client.post(
            "/api/auth/mfa/totp/confirm", json={"code": code(secret, clock)}
        )
        assert confirmed.status_code == 200
        codes = confirmed.json()["recovery_codes"]
        assert len(codes) == len(set(codes)) == 10
        # Once set up, the key is never shown again.
        assert (await client.post("/api/auth/mfa/totp")).status_code == 409
        assert (await client.post("/api/auth/logout")).status_code == 204

        clock.now += STEP
        assert await password_step(client) == CODE_DUE
        half = client.cookies["th_clinician"]
        for method, path in REFUSED_ELSEWHERE:
            assert (await client.request(method, path)).status_code == 401, path

        verified = await client.post("/api/auth/mfa/verify", json={"code": code(secret, clock)})
        assert verified.status_code == 200, verified.text
        assert verified.json()["email"] == "ada@clinic.example"
        signed_in = client.cookies["th_clinician"]
        assert signed_in != half
        assert (await client.get("/api/auth/me")).status_code == 200
        assert (await client.get("/api/auth/mfa")).json() == {
            "totp": True,
            "recovery_codes_left": 10,
            "passkeys": 0,
            "enrollment_required": False,
        }

    # The half-signed-in session ended when the sign-in completed.
    async with client_for(app) as other:
        other.cookies.set("th_clinician", half)
        again = await other.post("/api/auth/mfa/verify", json={"code": code(secret, clock)})
        assert again.status_code == 401
    logins = await audit_rows(app, "login")
    assert logins[-1].detail["second_factor"] == "totp"
    assert len(await audit_rows(app, "mfa.totp_enrolled")) == 1
    assert len(await audit_rows(app, "login.password")) == 1


@pytest.mark.asyncio
async def test_a_recovery_code_works_once(app: FastAPI, clock: Clock) -> None:
    async with client_for(app) as client:
        _, codes = await enrolled_then_signed_out(client, clock)
        await password_step(client)
        # As someone might type it off paper: lower case, no dash.
        typed = codes[0].replace("-", "").lower()
        assert (await client.post("/api/auth/mfa/verify", json={"code": typed})).status_code == 200
        assert (await client.get("/api/auth/mfa")).json()["recovery_codes_left"] == 9
        await client.post("/api/auth/logout")

        await password_step(client)
        used = await client.post("/api/auth/mfa/verify", json={"code": codes[0]})
        assert used.status_code == 401
        assert (
            await client.post("/api/auth/mfa/verify", json={"code": codes[1]})
        ).status_code == 200
    assert (await audit_rows(app, "login"))[-1].detail["second_factor"] == "recovery_code"


@pytest.mark.asyncio
async def test_a_totp_code_is_not_accepted_twice(app: FastAPI, clock: Clock) -> None:
    async with client_for(app) as client:
        secret, _ = await enrolled_then_signed_out(client, clock)
        await password_step(client)
        first = code(secret, clock)
        assert (await client.post("/api/auth/mfa/verify", json={"code": first})).status_code == 200
        await client.post("/api/auth/logout")

        await password_step(client)
        replayed = await client.post("/api/auth/mfa/verify", json={"code": first})
        assert replayed.status_code == 401
        # An older code still inside the allowed drift is refused too once a newer one was used.
        older = pyotp.TOTP(secret).at(clock.now - STEP)
        assert (await client.post("/api/auth/mfa/verify", json={"code": older})).status_code == 401
        clock.now += STEP
        fresh = code(secret, clock)
        assert (await client.post("/api/auth/mfa/verify", json={"code": fresh})).status_code == 200


@pytest.mark.asyncio
async def test_wrong_codes_are_refused_audited_and_throttled(app: FastAPI, clock: Clock) -> None:
    async with client_for(app) as client:
        secret, _ = await enrolled_then_signed_out(client, clock)
        await password_step(client)
        right = {pyotp.TOTP(secret).at(clock.now + n * STEP) for n in (-1, 0, 1)}
        wrong = next(f"{n:06d}" for n in range(10) if f"{n:06d}" not in right)
        for _ in range(3):
            refused = await client.post("/api/auth/mfa/verify", json={"code": wrong})
            assert refused.status_code == 401
        throttled = await client.post("/api/auth/mfa/verify", json={"code": code(secret, clock)})
        assert throttled.status_code == 429
        assert 1 <= int(throttled.headers["retry-after"]) <= 60
        # Giving the password again does not reset the count of wrong codes.
        again = await client.post(
            "/api/auth/login", json={"email": "ada@clinic.example", "password": PASSWORD}
        )
        assert again.status_code == 429
    failures = await audit_rows(app, "login.failed")
    assert [row.detail["reason"] for row in failures] == ["wrong_code"] * 3
    assert all(row.actor_id is not None for row in failures)


@pytest.mark.asyncio
async def test_a_code_step_takes_only_its_own_half_session(app: FastAPI, clock: Clock) -> None:
    async with client_for(app) as ada, client_for(app) as bo:
        ada_secret, _ = await enrolled_then_signed_out(ada, clock)
        # A signed-in session (no second factor for Bo) is not a code step.
        await password_step(bo, "bo")
        assert (await bo.post("/api/auth/mfa/verify", json={"code": "123456"})).status_code == 401
        await bo.post("/api/auth/mfa/totp")
        await bo.post("/api/auth/logout")

        await password_step(ada)
        # Half signed in, Ada cannot start or restart a setup either.
        assert (await ada.post("/api/auth/mfa/totp")).status_code == 401
        assert (await ada.get("/api/auth/mfa")).status_code == 401
        # Bo's half session with Ada's code: refused (a code proves only its own account).
        async with client_for(app) as bo_again:
            bo_secret, _ = await enrolled_by_bo(bo_again, clock)
            await password_step(bo_again, "bo")
            while code(ada_secret, clock) == code(bo_secret, clock):  # one chance in a million
                clock.now += STEP
            stolen = await bo_again.post(
                "/api/auth/mfa/verify", json={"code": code(ada_secret, clock)}
            )
            assert stolen.status_code == 401
        ok = await ada.post("/api/auth/mfa/verify", json={"code": code(ada_secret, clock)})
        assert ok.status_code == 200


async def enrolled_by_bo(client: httpx.AsyncClient, clock: Clock) -> tuple[str, list[str]]:
    await password_step(client, "bo")
    secret, codes = await enroll(client, clock)
    await client.post("/api/auth/logout")
    return secret, codes


@pytest.mark.asyncio
async def test_with_a_second_factor_required_a_password_reaches_only_the_setup(
    strict_app: FastAPI, clock: Clock
) -> None:
    async with client_for(strict_app) as client:
        assert await password_step(client) == {"mfa_required": True, "enroll": True, "methods": []}
        enrolling = client.cookies["th_clinician"]
        for method, path in REFUSED_ELSEWHERE:
            assert (await client.request(method, path)).status_code == 401, path
        assert (
            await client.post("/api/auth/mfa/verify", json={"code": "123456"})
        ).status_code == 401
        assert (await client.get("/api/auth/mfa")).json() == {
            "totp": False,
            "recovery_codes_left": 0,
            "passkeys": 0,
            "enrollment_required": True,
        }
        secret = (await client.post("/api/auth/mfa/totp")).json()["secret"]
        confirmed = await client.post(
            "/api/auth/mfa/totp/confirm", json={"code": code(secret, clock)}
        )
        assert confirmed.status_code == 200
        assert confirmed.json()["signed_in"]["email"] == "ada@clinic.example"
        assert client.cookies["th_clinician"] != enrolling
        assert (await client.get("/api/visits")).status_code == 200
        await client.post("/api/auth/logout")

        clock.now += STEP
        assert await password_step(client) == CODE_DUE
        verified = await client.post("/api/auth/mfa/verify", json={"code": code(secret, clock)})
        assert verified.status_code == 200


def test_a_second_factor_is_required_in_production_by_default(tmp_path: Path) -> None:
    assert not make_settings(tmp_path).second_factor_required
    production = make_settings(tmp_path, env="production", secret_key="s" * 40)
    assert production.second_factor_required
    assert not make_settings(
        tmp_path, env="production", secret_key="s" * 40, require_mfa=False
    ).second_factor_required


def _second_factor_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    tables = ("totp_factors", "recovery_codes", "passkeys", "webauthn_challenges")
    return [
        d for d in compare_metadata(context, Base.metadata) if any(t in repr(d) for t in tables)
    ]


@pytest.mark.asyncio
async def test_the_migration_matches_the_second_factor_tables(database_url: str) -> None:
    database = Database(database_url)
    try:
        await upgrade_database(database)
        async with database.engine.connect() as connection:
            assert await connection.run_sync(_second_factor_differences) == []
    finally:
        await database.close()
