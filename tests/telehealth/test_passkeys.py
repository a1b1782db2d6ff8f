"""Passkeys over the API (a software authenticator stands in for the browser's; the
Chromium test in tests/browser/test_passkeys.py uses the real one): registering, signing
in, an answer never accepted twice, and one account's passkey refused for another."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select

from telehealth.clinicians import create_clinician
from telehealth.storage.models import AuditEvent
from tests.conftest import make_settings
from tests.telehealth.api_client import client_for, running_app
from tests.telehealth.soft_authenticator import SoftAuthenticator

PASSWORD = "a long enough passphrase"
BASE_URL = "http://localhost:8000"
PASSKEY_DUE = {"mfa_required": True, "enroll": False, "methods": ["passkey"]}


@pytest_asyncio.fixture
async def app(tmp_path: Path, database_url: str) -> AsyncIterator[FastAPI]:
    settings = make_settings(tmp_path, database_url=database_url, public_base_url=BASE_URL)
    async with running_app(settings) as running:
        async with running.state.services.database.session() as session:
            for name in ("ada", "bo"):
                await create_clinician(
                    session,
                    email=f"{name}@clinic.example",
                    display_name=f"Dr {name.title()}",
                    password=PASSWORD,
                )
        yield running


def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(origin=BASE_URL, rp_id="localhost")


async def password_step(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/login", json={"email": f"{name}@clinic.example", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def add_passkey(client: httpx.AsyncClient, device: SoftAuthenticator) -> None:
    options = (await client.post("/api/auth/mfa/passkey/options")).json()
    assert options["rp"]["id"] == "localhost"
    added = await client.post("/api/auth/mfa/passkey", json={"credential": device.create(options)})
    assert added.status_code == 204, added.text


async def passkey_answer(client: httpx.AsyncClient, device: SoftAuthenticator) -> dict[str, Any]:
    options = await client.post("/api/auth/mfa/passkey/sign-in-options")
    assert options.status_code == 200, options.text
    return device.get(options.json())


@pytest.mark.asyncio
async def test_a_passkey_is_a_second_factor_and_its_answer_works_once(app: FastAPI) -> None:
    device = authenticator()
    async with client_for(app, BASE_URL) as client:
        await password_step(client, "ada")
        await add_passkey(client, device)
        assert (await client.get("/api/auth/mfa")).json()["passkeys"] == 1
        await client.post("/api/auth/logout")

        assert await password_step(client, "ada") == PASSKEY_DUE
        assert (await client.get("/api/visits")).status_code == 401
        answer = await passkey_answer(client, device)
        verified = await client.post("/api/auth/mfa/verify", json={"passkey": answer})
        assert verified.status_code == 200, verified.text
        assert (await client.get("/api/visits")).status_code == 200
        await client.post("/api/auth/logout")

        # The same signed answer again, on a new half session: its challenge is gone.
        await password_step(client, "ada")
        await client.post("/api/auth/mfa/passkey/sign-in-options")
        replayed = await client.post("/api/auth/mfa/verify", json={"passkey": answer})
        assert replayed.status_code == 401
    async with app.state.services.database.session() as session:
        rows = await session.execute(select(AuditEvent).where(AuditEvent.action == "login"))
        methods = [row.detail.get("second_factor") for row in rows.scalars()]
    assert "passkey" in methods
    async with app.state.services.database.session() as session:
        failed = await session.execute(
            select(AuditEvent).where(AuditEvent.action == "login.failed")
        )
        assert [row.detail["reason"] for row in failed.scalars()] == ["wrong_passkey"]


@pytest.mark.asyncio
async def test_one_accounts_passkey_does_not_sign_in_another(app: FastAPI) -> None:
    ada_device, bo_device = authenticator(), authenticator()
    async with client_for(app, BASE_URL) as ada, client_for(app, BASE_URL) as bo:
        await password_step(ada, "ada")
        await add_passkey(ada, ada_device)
        await password_step(bo, "bo")
        await add_passkey(bo, bo_device)
        await bo.post("/api/auth/logout")

        await password_step(bo, "bo")
        stolen = await passkey_answer(bo, ada_device)
        refused = await bo.post("/api/auth/mfa/verify", json={"passkey": stolen})
        assert refused.status_code == 401
        # Adding a passkey needs a signed-in session, not a half one.
        assert (await bo.post("/api/auth/mfa/passkey/options")).status_code == 401
        ok = await bo.post(
            "/api/auth/mfa/verify", json={"passkey": await passkey_answer(bo, bo_device)}
        )
        assert ok.status_code == 200
