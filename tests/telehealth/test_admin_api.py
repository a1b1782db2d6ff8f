"""The admin API: only admins reach it; staff accounts made, disabled, enabled, reset and
signed out; a temporary password changed at first sign-in; the audit log read back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import func, select

from telehealth.clinicians import create_clinician
from telehealth.storage.models import AuditEvent, Clinician, StaffRole, TotpFactor
from tests.conftest import make_settings
from tests.telehealth.api_client import client_for, running_app

PASSWORD = "a long enough passphrase"
TEMPORARY = "violet harbour lantern seventeen"
OWN = "copper meadow whistle forty"
ADMIN_ROUTES = [
    ("GET", "/api/admin/staff"),
    ("POST", "/api/admin/staff"),
    ("POST", "/api/admin/staff/someone/disable"),
    ("POST", "/api/admin/staff/someone/enable"),
    ("POST", "/api/admin/staff/someone/reset-mfa"),
    ("POST", "/api/admin/staff/someone/revoke-sessions"),
    ("GET", "/api/admin/audit"),
    ("GET", "/api/admin/audit/export"),
]
NEW_STAFF = {
    "email": "cy@clinic.example",
    "display_name": "Dr Cy",
    "temporary_password": TEMPORARY,
}


@pytest_asyncio.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    async with running_app(make_settings(tmp_path)) as running:
        async with running.state.services.database.session() as session:
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
        yield running


@asynccontextmanager
async def signed_in(
    app: FastAPI, email: str, password: str = PASSWORD
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        response = await client.post("/api/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        yield client


async def staff_id(app: FastAPI, email: str) -> str:
    async with app.state.services.database.session() as session:
        found = await session.scalar(select(Clinician.id).where(Clinician.email == email))
    assert found is not None
    return found


async def audit_rows(app: FastAPI, action: str) -> list[AuditEvent]:
    async with app.state.services.database.session() as session:
        rows = await session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows.scalars())


@pytest.mark.asyncio
@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
async def test_every_admin_route_refuses_the_anonymous_and_clinicians(
    app: FastAPI, method: str, path: str
) -> None:
    body = NEW_STAFF if method == "POST" else None
    async with client_for(app) as anonymous:
        response = await anonymous.request(method, path, json=body)
        assert response.status_code == 401
    async with signed_in(app, "ada@clinic.example") as clinician:
        response = await clinician.request(method, path, json=body)
        assert response.status_code == 403, response.text
    async with app.state.services.database.session() as session:
        staff = await session.scalar(select(func.count()).select_from(Clinician))
    assert staff == 2  # nothing was made by the refused posts


@pytest.mark.asyncio
async def test_existing_accounts_are_clinicians_and_the_admin_sees_them_all(app: FastAPI) -> None:
    async with signed_in(app, "root@clinic.example") as admin:
        me = (await admin.get("/api/auth/me")).json()
        assert me["role"] == "admin"
        listed = (await admin.get("/api/admin/staff")).json()["staff"]
    assert [(row["email"], row["role"], row["active"]) for row in listed] == [
        ("ada@clinic.example", "clinician", True),
        ("root@clinic.example", "admin", True),
    ]


@pytest.mark.asyncio
async def test_a_new_account_must_change_its_temporary_password_first(app: FastAPI) -> None:
    async with signed_in(app, "root@clinic.example") as admin:
        created = await admin.post("/api/admin/staff", json=NEW_STAFF)
        assert created.status_code == 201, created.text
        assert created.json()["must_change_password"] is True
        again = await admin.post("/api/admin/staff", json=NEW_STAFF)
        assert again.status_code == 409
    made = await audit_rows(app, "clinician.created")
    # The fixture's two accounts were made by the operator, the new one by the admin.
    assert [(row.actor_type, row.actor_id) for row in made] == [
        ("system", None),
        ("system", None),
        ("admin", await staff_id(app, "root@clinic.example")),
    ]

    async with client_for(app) as newcomer:
        login = await newcomer.post(
            "/api/auth/login", json={"email": NEW_STAFF["email"], "password": TEMPORARY}
        )
        assert login.json() == {"password_change_required": True}
        # The temporary password opens nothing but the change itself.
        assert (await newcomer.get("/api/auth/me")).status_code == 401
        assert (await newcomer.get("/api/visits")).status_code == 401
        weak = await newcomer.post("/api/auth/password", json={"new_password": "password1234"})
        assert weak.status_code == 422
        assert "password1234" not in weak.text
        changed = await newcomer.post("/api/auth/password", json={"new_password": OWN})
        assert changed.status_code == 200, changed.text
        assert changed.json()["email"] == NEW_STAFF["email"]
        assert (await newcomer.get("/api/visits")).status_code == 200
        # Done once: the route takes only the temporary stage.
        assert (
            await newcomer.post("/api/auth/password", json={"new_password": OWN + " x"})
        ).status_code == 401
    async with signed_in(app, NEW_STAFF["email"], OWN) as later:
        assert (await later.get("/api/auth/me")).status_code == 200


@pytest.mark.asyncio
async def test_disable_enable_and_sign_out_everywhere_take_effect_at_once(app: FastAPI) -> None:
    ada_id = await staff_id(app, "ada@clinic.example")
    async with (
        signed_in(app, "root@clinic.example") as admin,
        signed_in(app, "ada@clinic.example") as ada,
    ):
        assert (await ada.get("/api/visits")).status_code == 200
        disabled = await admin.post(f"/api/admin/staff/{ada_id}/disable")
        assert disabled.json()["active"] is False
        assert (await ada.get("/api/visits")).status_code == 401
        assert (await ada.post("/api/auth/extend")).status_code == 401
        refused = await ada.post(
            "/api/auth/login", json={"email": "ada@clinic.example", "password": PASSWORD}
        )
        assert refused.status_code == 401

        assert (await admin.post(f"/api/admin/staff/{ada_id}/enable")).json()["active"] is True
        # Enabling does not bring back the sessions that disabling ended.
        assert (await ada.get("/api/visits")).status_code == 401
        async with signed_in(app, "ada@clinic.example") as ada_again:
            assert (await ada_again.get("/api/visits")).status_code == 200
            ended = await admin.post(f"/api/admin/staff/{ada_id}/revoke-sessions")
            assert ended.status_code == 200
            assert (await ada_again.get("/api/visits")).status_code == 401
        assert (await admin.post("/api/admin/staff/nobody/disable")).status_code == 404
        root_id = await staff_id(app, "root@clinic.example")
        assert (await admin.post(f"/api/admin/staff/{root_id}/disable")).status_code == 409
    for action in ("staff.disabled", "staff.enabled", "staff.sessions_revoked"):
        [row] = await audit_rows(app, action)
        assert (row.actor_type, row.actor_id, row.detail) == (
            "admin",
            root_id,
            {"clinician_id": ada_id},
        )


@pytest.mark.asyncio
async def test_resetting_the_second_factor_removes_it_and_ends_the_sessions(app: FastAPI) -> None:
    ada_id = await staff_id(app, "ada@clinic.example")
    async with app.state.services.database.session() as session:
        session.add(TotpFactor(clinician_id=ada_id, secret_encrypted="x", confirmed_at=None))
    async with (
        signed_in(app, "root@clinic.example") as admin,
        signed_in(app, "ada@clinic.example") as ada,
    ):
        assert (await admin.post(f"/api/admin/staff/{ada_id}/reset-mfa")).status_code == 200
        assert (await ada.get("/api/visits")).status_code == 401
    async with app.state.services.database.session() as session:
        assert await session.get(TotpFactor, ada_id) is None
    assert len(await audit_rows(app, "staff.mfa_reset")) == 1


@pytest.mark.asyncio
async def test_the_audit_log_filters_and_exports(app: FastAPI) -> None:
    ada_id = await staff_id(app, "ada@clinic.example")
    async with signed_in(app, "root@clinic.example") as admin:
        root_id = await staff_id(app, "root@clinic.example")
        await admin.post(f"/api/admin/staff/{ada_id}/revoke-sessions")
        logins = (await admin.get("/api/admin/audit", params={"action": "login"})).json()
        assert [event["actor_id"] for event in logins["events"]] == [root_id]
        by_admin = (await admin.get("/api/admin/audit", params={"actor": root_id})).json()
        assert {event["action"] for event in by_admin["events"]} == {
            "login",
            "staff.sessions_revoked",
        }
        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        assert (await admin.get("/api/admin/audit", params={"since": future})).json() == {
            "events": []
        }
        everything = (await admin.get("/api/admin/audit", params={"until": future})).json()
        assert len(everything["events"]) >= 4  # two created, one login, one revoke

        export = await admin.get("/api/admin/audit/export", params={"actor": root_id})
        assert export.status_code == 200
        assert export.headers["content-type"].startswith("application/x-ndjson")
        assert export.headers["cache-control"] == "no-store"
        lines = [json.loads(line) for line in export.text.splitlines()]
        assert [line["action"] for line in lines] == ["staff.sessions_revoked", "login"]
    [exported] = await audit_rows(app, "audit.exported")
    assert (exported.actor_id, exported.detail) == (root_id, {"events": 2})
