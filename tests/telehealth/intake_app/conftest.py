"""An app with clinicians Ada and Bo, and helpers to open visits and patient sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest_asyncio
from fastapi import FastAPI

from telehealth.clinicians import create_clinician
from telehealth.deps import current_time
from tests.conftest import make_settings
from tests.telehealth.api_client import client_for, running_app

PASSWORD = "a long enough passphrase"
ADA = "ada@clinic.example"
BO = "bo@clinic.example"
EMERGENCY_NUMBER = "112"


@dataclass
class Clinic:
    """A running app; every client it hands out is closed with the fixture."""

    app: FastAPI
    stack: AsyncExitStack
    # The app's "now" for its day ranges, fixed so a visit scheduled then is always "today".
    now: datetime

    async def client(self) -> httpx.AsyncClient:
        return await self.stack.enter_async_context(client_for(self.app))

    async def clinician(self, email: str = ADA) -> httpx.AsyncClient:
        client = await self.client()
        response = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return client

    async def new_visit(self, clinician: httpx.AsyncClient) -> tuple[str, str]:
        response = await clinician.post("/api/visits", json={"scheduled_at": self.now.isoformat()})
        assert response.status_code == 201, response.text
        body = response.json()
        return body["visit"]["id"], body["invite_url"].split("#invite=")[1]

    async def patient(self, invite: str) -> httpx.AsyncClient:
        client = await self.client()
        response = await client.post(
            "/api/patient/session", json={"invite": invite, "display_name": "Jo"}
        )
        assert response.status_code == 200, response.text
        return client

    async def visit_with_patient(
        self, clinician: httpx.AsyncClient
    ) -> tuple[str, httpx.AsyncClient]:
        visit_id, invite = await self.new_visit(clinician)
        return visit_id, await self.patient(invite)


async def add_clinicians(app: FastAPI) -> None:
    async with app.state.services.database.session() as session:
        for email, name in ((ADA, "Dr Ada"), (BO, "Dr Bo")):
            await create_clinician(session, email=email, display_name=name, password=PASSWORD)


@pytest_asyncio.fixture
async def clinic(tmp_path: Path, database_url: str) -> AsyncIterator[Clinic]:
    settings = make_settings(tmp_path, database_url=database_url, emergency_number=EMERGENCY_NUMBER)
    async with running_app(settings) as app, AsyncExitStack() as stack:
        await add_clinicians(app)
        now = datetime.now(UTC)
        app.dependency_overrides[current_time] = lambda: now
        yield Clinic(app, stack, now)
