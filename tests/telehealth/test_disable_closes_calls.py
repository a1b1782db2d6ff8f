"""Disabling a clinician closes their open call with 4401 within 5 s, on every server:
told by the revocation broadcast, long before the periodic session check would notice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from telehealth.clinicians import create_clinician
from telehealth.realtime import socket as socket_module
from telehealth.storage.models import StaffRole
from tests.conftest import make_settings, requires_redis
from tests.services import REDIS_URL
from tests.telehealth.live_server import free_port, live_server
from tests.telehealth.test_websocket import PASSWORD, Clinic, close_code, hello


async def add_staff(app: FastAPI) -> None:
    async with app.state.services.database.session() as session:
        await create_clinician(
            session,
            email="root@clinic.example",
            display_name="Admin Root",
            password=PASSWORD,
            role=StaffRole.admin,
        )
        await create_clinician(
            session, email="ada@clinic.example", display_name="Dr Ada", password=PASSWORD
        )


@asynccontextmanager
async def servers(tmp_path: Path, count: int, **overrides: Any) -> AsyncIterator[list[Clinic]]:
    """`count` servers on one database (and one pub/sub backend when `overrides` name one)."""
    ports = [free_port() for _ in range(count)]
    origins = [f"http://127.0.0.1:{port}" for port in ports]
    async with AsyncExitStack() as stack:
        clinics = []
        for port, base in zip(ports, origins, strict=True):
            settings = make_settings(
                tmp_path,
                port=port,
                public_base_url=base,
                allowed_origins=origins,
                secret_key="shared-by-every-server-" + "0" * 16,
                **overrides,
            )
            app = await stack.enter_async_context(live_server(settings))
            await app.state.services.revocations.listening.wait()
            clinics.append(Clinic(app=app, base=base))
        await add_staff(clinics[0].app)
        yield clinics


async def disable(clinic: Clinic, email: str) -> None:
    admin = await clinic.login("root@clinic.example")
    async with httpx.AsyncClient(base_url=clinic.base, cookies={"th_clinician": admin}) as c:
        staff = (await c.get("/api/admin/staff")).json()["staff"]
        [target] = [row["id"] for row in staff if row["email"] == email]
        assert (await c.post(f"/api/admin/staff/{target}/disable")).status_code == 200


async def assert_call_closes_when_disabled(call_on: Clinic, admin_on: Clinic) -> None:
    ada = await call_on.login("ada@clinic.example")
    visit_id, _ = await call_on.new_visit(ada)
    async with call_on.socket(visit_id, {"th_clinician": ada}) as doctor:
        await hello(doctor)
        await disable(admin_on, "ada@clinic.example")
        assert await close_code(doctor, within_s=5) == 4401


@pytest.mark.asyncio
async def test_a_disabled_clinicians_call_closes_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The periodic check alone would take a minute: only the broadcast can be in time.
    monkeypatch.setattr(socket_module, "SESSION_CHECK_S", 60.0)
    async with servers(tmp_path, 1) as [clinic]:
        await assert_call_closes_when_disabled(clinic, clinic)


@pytest.mark.asyncio
async def test_without_a_broadcast_the_periodic_check_still_closes_the_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket_module, "SESSION_CHECK_S", 1.0)
    async with servers(tmp_path, 1) as [clinic]:
        # As if the announcement were lost (Redis briefly down).
        async def lost(_clinician_id: str) -> None:
            return None

        monkeypatch.setattr(clinic.app.state.services.revocations, "announce", lost)
        await assert_call_closes_when_disabled(clinic, clinic)


@requires_redis
@pytest.mark.redis
@pytest.mark.asyncio
async def test_disabling_on_one_server_closes_the_call_on_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket_module, "SESSION_CHECK_S", 60.0)
    async with servers(tmp_path, 2, redis_url=REDIS_URL) as [first, second]:
        await assert_call_closes_when_disabled(call_on=first, admin_on=second)
