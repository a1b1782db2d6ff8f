"""Urgent intakes on the clinician's dashboard: a patient's form with severity 10 puts the
visit first with an "Urgent" badge naming the flag, and "Read intake" opens the summary in
an accessible dialog (focus in, Escape closes, focus back); axe-core with it open."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Server
from tests.server_database import server_sqlite
from tests.telehealth.intake_app.sample import FORM_ANSWERS

pytestmark = pytest.mark.browser

SEVERITY_FLAG_TITLE = "Severity 9 or 10 out of 10"
_COUNT_ANNOUNCEMENTS = """() => {
  window.urgentAnnouncements = 0;
  const region = document.getElementById("status");
  new MutationObserver(() => {
    if (region.textContent.includes("Urgent intake")) window.urgentAnnouncements += 1;
  }).observe(region, { childList: true, characterData: true, subtree: true });
}"""


def _submit_urgent_intake(server: Server, invite_url: str) -> None:
    token = invite_url.split("#invite=")[1]
    with httpx.Client(base_url=server.base_url, timeout=10) as patient:
        patient.post(
            "/api/patient/session", json={"invite": token, "display_name": "Uma"}
        ).raise_for_status()
        response = patient.post(
            "/api/patient/intake/form", json={"answers": {**FORM_ANSWERS, "severity": "10"}}
        )
        response.raise_for_status()
        assert response.json()["urgent"] is True
        assert response.json()["flags"] == ["severity-9-or-10"]


def test_urgent_intake_is_first_with_badge_and_readable_summary(
    browser: Browser, server: Server
) -> None:
    calm = server.create_visit("Calm visit C.A.")
    urgent = server.create_visit("Urgent visit U.R.")
    _submit_urgent_intake(server, urgent["invite_url"])
    ended = server.create_visit("Ended visit E.N.")
    # No API ends a visit without a call: mark it ended in the server's database.
    assert server.data_dir is not None
    with server_sqlite(server.data_dir) as database:
        database.execute("UPDATE visits SET status = 'ended' WHERE id = ?", (ended["visit"]["id"],))

    context = browser.new_context(base_url=server.base_url)
    try:
        context.request.post(
            "/api/auth/login", data={"email": server.email, "password": server.password}
        )
        page = context.new_page()
        page.goto("/clinician")
        expect(page.get_by_role("heading", level=1)).to_have_text("Today's visits")

        # The urgent visit sorts first (it was scheduled after the calm one), with the
        # badge in words and the flag's title; the new flag goes to the status region once.
        rows = page.locator("#visits-body tr")
        urgent_row = rows.first
        expect(urgent_row).to_contain_text("Urgent visit U.R.")
        expect(urgent_row.locator(".urgent-badge")).to_have_text(f"Urgent: {SEVERITY_FLAG_TITLE}")
        expect(urgent_row).to_contain_text("Intake: done")
        expect(page.get_by_role("status")).to_contain_text(
            f"Urgent intake for Urgent visit U.R.: {SEVERITY_FLAG_TITLE}."
        )
        calm_row = page.locator("tr", has_text="Calm visit C.A.")
        expect(calm_row).to_contain_text("Intake: not started")
        expect(calm_row.locator(".urgent-badge")).to_have_count(0)
        expect(calm_row.get_by_role("button", name=re.compile("^Read intake"))).to_have_count(0)
        assert calm["visit"]["id"] != urgent["visit"]["id"]
        expect(
            page.get_by_role("navigation").get_by_role("link", name="Transcripts")
        ).to_have_attribute("href", "/clinician/review")

        ended_row = page.locator("tr", has_text="Ended visit E.N.")
        expect(
            ended_row.get_by_role("link", name=re.compile(r"^Review transcript of Ended visit"))
        ).to_have_attribute("href", f"/clinician/review?visit={ended['visit']['id']}")
        expect(ended_row.get_by_role("link", name=re.compile("^Join visit"))).to_have_count(0)

        # "Read intake" opens the summary: focus moves in, urgent flags come first.
        read = urgent_row.get_by_role("button", name=re.compile(r"^Read intake of Urgent visit"))
        read.click()
        dialog = page.get_by_role("dialog", name="Intake summary: Urgent visit U.R.")
        expect(dialog).to_be_visible()
        expect(dialog.get_by_role("heading", name="Urgent: needs attention now")).to_be_visible()
        expect(dialog.locator(".intake-urgent")).to_contain_text(SEVERITY_FLAG_TITLE)
        expect(dialog.locator(".intake-answers")).to_contain_text("I have a sore throat")
        expect(dialog.get_by_role("button", name="Close")).to_be_focused()
        assert_accessible(page, "dashboard with the intake summary open")

        # Across a refresh (every 5 s) the flag is not announced again and the opener
        # survives; Escape closes the dialog and focus returns to the opener.
        page.evaluate(_COUNT_ANNOUNCEMENTS)
        page.wait_for_timeout(5_500)
        assert page.evaluate("window.urgentAnnouncements") == 0
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(read).to_be_focused()
    finally:
        context.close()


def test_call_page_alerts_on_urgent_intake(browser: Browser, server: Server) -> None:
    visit = server.create_visit("Call visit C.P.")
    visit_id = visit["visit"]["id"]
    context = browser.new_context(base_url=server.base_url)
    try:
        context.request.post(
            "/api/auth/login", data={"email": server.email, "password": server.password}
        )
        page = context.new_page()
        page.goto(f"/clinician/call?visit={visit_id}")
        expect(page.get_by_role("status")).to_contain_text("Nobody is waiting")
        expect(page.get_by_role("alert")).to_have_count(0)

        # The patient's form raises the flag while the clinician is in the visit's room.
        _submit_urgent_intake(server, visit["invite_url"])
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Urgent: the patient's answers need attention now")
        read = alert.get_by_role("button", name="Read intake summary")
        read.click()
        dialog = page.get_by_role("dialog", name="Intake summary")
        expect(dialog.locator(".intake-urgent")).to_contain_text(SEVERITY_FLAG_TITLE)
        expect(dialog.get_by_role("button", name="Close")).to_be_focused()
        assert_accessible(page, "call page with the urgent intake summary open")
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(read).to_be_focused()
    finally:
        context.close()


def test_intake_history_lists_every_version_with_its_flags(
    browser: Browser, server: Server
) -> None:
    visit = server.create_visit("Twice visit T.W.")
    token = visit["invite_url"].split("#invite=")[1]
    with httpx.Client(base_url=server.base_url, timeout=10) as patient:
        patient.post(
            "/api/patient/session", json={"invite": token, "display_name": "Tess"}
        ).raise_for_status()
        for answers in (
            {**FORM_ANSWERS, "severity": "10"},
            {**FORM_ANSWERS, "reason": "just a routine check"},
        ):
            patient.post("/api/patient/intake/form", json={"answers": answers}).raise_for_status()

    context = browser.new_context(base_url=server.base_url)
    try:
        context.request.post(
            "/api/auth/login", data={"email": server.email, "password": server.password}
        )
        page = context.new_page()
        page.goto("/clinician")
        row = page.locator("tr", has_text="Twice visit T.W.")
        row.get_by_role("button", name=re.compile(r"^Read intake of Twice visit")).click()
        dialog = page.get_by_role("dialog", name="Intake summary: Twice visit T.W.")
        # The latest answers, and the flag of the first version still on top.
        expect(dialog.locator(".intake-urgent")).to_contain_text(SEVERITY_FLAG_TITLE)
        expect(dialog.locator(".intake-answers").first).to_contain_text("just a routine check")

        history = dialog.locator(".intake-history")
        history.get_by_text("All versions of the intake").focus()
        page.keyboard.press("Enter")
        versions = history.locator(".intake-version")
        expect(versions).to_have_count(2)
        expect(versions.nth(0).get_by_role("heading")).to_contain_text("Version 2, by form")
        expect(versions.nth(0)).to_contain_text("just a routine check")
        expect(versions.nth(0).locator(".intake-version-flags")).to_have_count(0)
        expect(versions.nth(1).get_by_role("heading")).to_contain_text("Version 1, by form")
        expect(versions.nth(1).locator(".intake-version-flags")).to_have_text(
            f"Urgent: {SEVERITY_FLAG_TITLE}"
        )
        expect(versions.nth(1)).to_contain_text("I have a sore throat")
        assert_accessible(page, "dashboard with the intake history open")
    finally:
        context.close()
