"""A session still waiting for its second factor cannot open a visit's websocket."""

from __future__ import annotations

import httpx
import pyotp
import pytest

from tests.telehealth.test_websocket import PASSWORD, Clinic, clinic, close_code, hello

__all__ = ["clinic"]  # the live-server fixture, shared with the websocket tests


@pytest.mark.asyncio
async def test_a_half_signed_in_session_gets_no_call(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, _ = await clinic.new_visit(ada)
    async with httpx.AsyncClient(base_url=clinic.base, cookies={"th_clinician": ada}) as client:
        secret = (await client.post("/api/auth/mfa/totp")).json()["secret"]
        confirmed = await client.post(
            "/api/auth/mfa/totp/confirm", json={"code": pyotp.TOTP(secret).now()}
        )
        assert confirmed.status_code == 200
    async with httpx.AsyncClient(base_url=clinic.base) as client:
        due = await client.post(
            "/api/auth/login", json={"email": "ada@clinic.example", "password": PASSWORD}
        )
        assert due.json()["mfa_required"] is True
        half = due.cookies["th_clinician"]
    async with clinic.socket(visit_id, {"th_clinician": half}) as ws:
        assert await close_code(ws) == 4401
    # The signed-in session from before is still let in.
    async with clinic.socket(visit_id, {"th_clinician": ada}) as ws:
        assert (await hello(ws))["type"] == "welcome"
