"""Patient links against a real server (SQLite and PostgreSQL): one live session per link,
revoking and replacing the link, the visit's end, signing out, the typed name, and TURN
only for open visits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from telehealth.clinicians import create_clinician
from telehealth.realtime import socket as socket_module
from telehealth.storage.models import Session, SessionKind, VisitStatus
from tests.conftest import make_settings
from tests.telehealth.live_server import free_port, live_server
from tests.telehealth.test_websocket import PASSWORD, Clinic, close_code, hello, next_message

OPENED_ELSEWHERE = "This visit was opened on another device."


@pytest_asyncio.fixture
async def clinic(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Clinic]:
    # Announcements wake the sockets at once; the periodic check is only the fallback.
    monkeypatch.setattr(socket_module, "SESSION_CHECK_S", 30.0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        port=port,
        public_base_url=base,
        ice_servers=["turn:turn.clinic.example:3478"],
        turn_secret="north-wind-shared-secret",
    )
    async with live_server(settings) as app:
        async with app.state.services.database.session() as session:
            for email in ("ada@clinic.example", "bo@clinic.example"):
                await create_clinician(
                    session, email=email, display_name=email[:2].title(), password=PASSWORD
                )
        await app.state.services.revocations.listening.wait()
        yield Clinic(app=app, base=base)


def client(clinic: Clinic, **cookies: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=clinic.base, cookies=cookies, timeout=10)


async def open_link(clinic: Clinic, invite: str, name: str = "Jo") -> httpx.Response:
    async with client(clinic) as anonymous:
        return await anonymous.post(
            "/api/patient/session", json={"invite": invite, "display_name": name}
        )


async def patient_requests(clinic: Clinic, patient: str) -> list[tuple[int, Any]]:
    """A patient session's reads and the writes the review saw a second session make."""
    async with client(clinic, th_patient=patient) as browser:
        responses = [
            await browser.get("/api/patient/visit"),
            await browser.put("/api/patient/consent", json={"transcript": True}),
            await browser.post("/api/patient/intake/form", json={"answers": {}}),
            await browser.post("/api/patient/extend"),
        ]
    return [(r.status_code, r.json().get("detail")) for r in responses]


async def live_patient_sessions(clinic: Clinic, visit_id: str) -> int:
    async with clinic.app.state.services.database.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Session)
            .where(
                Session.visit_id == visit_id,
                Session.kind == SessionKind.patient.value,
                Session.revoked_at.is_(None),
            )
        )
    return int(count or 0)


@pytest.mark.asyncio
async def test_a_second_redemption_ends_the_first_session(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    first = await clinic.patient(invite, "Jo")
    async with (
        clinic.socket(visit_id, {"th_clinician": ada}) as doctor,
        clinic.socket(visit_id, {"th_patient": first}) as laptop,
    ):
        await hello(doctor)
        await hello(laptop)
        await next_message(doctor, "peer_joined")

        second = await clinic.patient(invite, "Jo Phone")
        # The first device's websocket closes with the documented code, at once.
        assert await close_code(laptop, within_s=3) == 4411
        assert socket_module.Close.OPENED_ELSEWHERE == 4411
        # The clinician is told the patient rejoined from a new device.
        notice = await next_message(doctor, "status")
        assert notice["event"] == "patient_rejoined"
        assert notice["detail"] == "The patient rejoined from a new device."

        # Every request of the first session is refused, and says why.
        for status_code, detail in await patient_requests(clinic, first):
            assert (status_code, detail) == (401, OPENED_ELSEWHERE)
        # Connecting again with it is refused the same way.
        async with clinic.socket(visit_id, {"th_patient": first}) as again:
            assert await close_code(again) == 4411
        # The second session works.
        async with client(clinic, th_patient=second) as phone:
            mine = await phone.get("/api/patient/visit")
            assert mine.status_code == 200 and mine.json()["display_name"] == "Jo Phone"
    assert await live_patient_sessions(clinic, visit_id) == 1

    # The clinician sees the typed name beside the scheduled label, and the rejoin.
    async with client(clinic, th_clinician=ada) as staff:
        visit = (await staff.get(f"/api/visits/{visit_id}")).json()
        listed = (await staff.get("/api/visits")).json()["visits"]
    assert (visit["patient_name"], visit["patient_rejoined"]) == ("Jo Phone", True)
    assert [(v["id"], v["patient_name"]) for v in listed] == [(visit_id, "Jo Phone")]


@pytest.mark.asyncio
async def test_redemptions_at_once_leave_one_live_session(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    responses = await asyncio.gather(*(open_link(clinic, invite, f"Jo {n}") for n in "abcdef"))
    assert [r.status_code for r in responses] == [200] * 6
    assert await live_patient_sessions(clinic, visit_id) == 1


@pytest.mark.asyncio
async def test_a_revoked_link_and_its_session_are_refused(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    bo = await clinic.login("bo@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    other_visit, other_invite = await clinic.new_visit(ada)
    patient = await clinic.patient(invite)
    other_patient = await clinic.patient(other_invite)

    # The wrong people cannot revoke it: nobody, a patient (this visit's or another's), a
    # clinician of another visit.
    for cookies, expected in [
        ({}, 401),
        ({"th_patient": patient}, 401),
        ({"th_patient": other_patient}, 401),
        ({"th_clinician": bo}, 404),
    ]:
        async with client(clinic, **cookies) as caller:
            response = await caller.delete(f"/api/visits/{visit_id}/invite")
            assert response.status_code == expected, cookies
    assert (await open_link(clinic, invite, "Still valid")).status_code == 200
    patient = await clinic.patient(invite)

    async with clinic.socket(visit_id, {"th_patient": patient}) as waiting:
        await hello(waiting)
        async with client(clinic, th_clinician=ada) as staff:
            assert (await staff.delete(f"/api/visits/{visit_id}/invite")).status_code == 204
        assert await close_code(waiting, within_s=3) == 4401
    refused = await open_link(clinic, invite)
    assert refused.status_code == 403 and "withdrawn" in refused.json()["detail"]
    for status_code, detail in await patient_requests(clinic, patient):
        assert status_code == 401 and "withdrawn" in detail
    # Another visit's patient is untouched.
    async with client(clinic, th_patient=other_patient) as other:
        assert (await other.get("/api/patient/visit")).json()["visit_id"] == other_visit


@pytest.mark.asyncio
async def test_a_new_link_revokes_the_old_one(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    bo = await clinic.login("bo@clinic.example")
    visit_id, old_invite = await clinic.new_visit(ada)
    old_session = await clinic.patient(old_invite)
    async with client(clinic, th_clinician=bo) as stranger:
        assert (await stranger.post(f"/api/visits/{visit_id}/invite")).status_code == 404
    async with client(clinic, th_patient=old_session) as patient:
        assert (await patient.post(f"/api/visits/{visit_id}/invite")).status_code == 401
    async with client(clinic, th_clinician=ada) as staff:
        issued = await staff.post(f"/api/visits/{visit_id}/invite")
    assert issued.status_code == 201
    new_invite = issued.json()["invite_url"].split("#invite=")[1]

    assert (await open_link(clinic, old_invite)).status_code == 403
    assert (await patient_requests(clinic, old_session))[0][0] == 401
    assert (await open_link(clinic, new_invite)).status_code == 200


@pytest.mark.asyncio
async def test_a_cancelled_visit_ends_its_patient_session(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    patient = await clinic.patient(invite)
    async with clinic.socket(visit_id, {"th_patient": patient}) as waiting:
        await hello(waiting)
        async with client(clinic, th_clinician=ada) as staff:
            cancelled = await staff.post(f"/api/visits/{visit_id}/cancel")
            assert cancelled.json()["status"] == "cancelled"
        assert await close_code(waiting, within_s=3) == 4410
    for status_code, detail in await patient_requests(clinic, patient):
        assert (status_code, detail) == (401, "This visit is closed.")
    refused = await open_link(clinic, invite)
    assert refused.status_code == 403 and "no longer open" in refused.json()["detail"]
    async with client(clinic, th_patient=patient) as browser:
        assert (await browser.get("/api/ice", params={"visit": visit_id})).status_code == 401


@pytest.mark.asyncio
async def test_the_patient_leaves_and_signs_out(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    _, other_invite = await clinic.new_visit(ada)
    patient = await clinic.patient(invite)
    other_patient = await clinic.patient(other_invite)
    async with client(clinic) as nobody:
        assert (await nobody.post("/api/patient/logout")).status_code == 401
    async with client(clinic, th_clinician=ada) as staff:
        assert (await staff.post("/api/patient/logout")).status_code == 401
    async with clinic.socket(visit_id, {"th_patient": patient}) as waiting:
        await hello(waiting)
        async with client(clinic, th_patient=patient) as browser:
            signed_out = await browser.post("/api/patient/logout")
            assert signed_out.status_code == 204
            assert 'th_patient=""' in signed_out.headers["set-cookie"]
        assert await close_code(waiting, within_s=3) == 4401
    for status_code, detail in await patient_requests(clinic, patient):
        assert (status_code, detail) == (401, "You signed out of this visit.")
    async with client(clinic, th_patient=patient) as replay:
        assert (await replay.post("/api/patient/logout")).status_code == 401
    # Only their own session ended; the link opens the visit again while it is open.
    async with client(clinic, th_patient=other_patient) as other:
        assert (await other.get("/api/patient/visit")).status_code == 200
    assert (await open_link(clinic, invite)).status_code == 200


@pytest.mark.asyncio
async def test_a_patient_cannot_call_themselves_staff(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    for forged in [
        "Dr. Demo (clinic staff)",
        "Demo [clinician]",
        "Nurse Joy",
        "CLINIC STAFF",
        "Ｄｒ Demo",  # full-width letters are letters
        "Jo\u202e ffats",  # a right-to-left override
        "   ",
    ]:
        refused = await open_link(clinic, invite, forged)
        assert refused.status_code == 422, forged
        detail = refused.json()["detail"]
        # Said in words the page can show, without echoing what was typed.
        assert isinstance(detail, str) and detail.startswith("please")
        assert not forged.strip() or forged not in detail
    opened = await open_link(clinic, invite, "  Jo   Dee ")
    assert opened.status_code == 200 and opened.json()["display_name"] == "Jo Dee"
    patient = opened.cookies["th_patient"]
    # The role is the session's, whatever the name: the room says "patient".
    async with clinic.socket(visit_id, {"th_patient": patient}) as ws:
        welcome = await hello(ws)
        assert welcome["role"] == "patient"
        assert welcome["peer_id"].startswith("p-")


@pytest.mark.asyncio
async def test_turn_credentials_only_for_an_open_visit_of_ones_own(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    bo = await clinic.login("bo@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    other_visit, _ = await clinic.new_visit(ada)
    patient = await clinic.patient(invite)

    async def ice(visit: str, **cookies: str) -> httpx.Response:
        async with client(clinic, **cookies) as caller:
            return await caller.get("/api/ice", params={"visit": visit})

    for cookies in ({"th_patient": patient}, {"th_clinician": ada}):
        given = await ice(visit_id, **cookies)
        assert given.status_code == 200
        assert given.json()["iceServers"][0]["username"]
    assert (await ice(visit_id)).status_code == 401
    assert (await ice(visit_id, th_clinician=bo)).status_code == 404
    assert (await ice(other_visit, th_patient=patient)).status_code == 404

    async with client(clinic, th_clinician=ada) as staff:
        assert (await staff.post(f"/api/visits/{visit_id}/cancel")).status_code == 200
    closed = await ice(visit_id, th_clinician=ada)
    assert closed.status_code == 403 and "TURN" not in closed.text
    assert "credential" not in closed.text


@pytest.mark.asyncio
async def test_the_end_of_the_call_ends_the_patient_session(clinic: Clinic) -> None:
    ada = await clinic.login("ada@clinic.example")
    visit_id, invite = await clinic.new_visit(ada)
    patient = await clinic.patient(invite)
    async with (
        clinic.socket(visit_id, {"th_patient": patient}) as p_ws,
        clinic.socket(visit_id, {"th_clinician": ada}) as c_ws,
    ):
        welcome = await hello(p_ws)
        await hello(c_ws)
        await c_ws.send(json.dumps({"type": "admit", "peer_id": welcome["peer_id"]}))
        await next_message(p_ws, "admitted")
        await c_ws.send(json.dumps({"type": "end_call"}))
        await next_message(p_ws, "call_ended")
    await clinic.visit_status(visit_id, VisitStatus.ended)
    for status_code, detail in await patient_requests(clinic, patient):
        assert (status_code, detail) == (401, "This visit is closed.")
    assert (await open_link(clinic, invite)).status_code == 403
