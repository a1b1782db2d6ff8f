"""The clinician's dashboard in Chromium: signing in, scheduling, the invite link,
display settings that persist, signing out; axe-core on every state."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Server

pytestmark = pytest.mark.browser


def test_home_page_is_accessible(browser: Browser, server: Server) -> None:
    page = browser.new_page()
    try:
        page.goto(server.base_url + "/")
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        assert_accessible(page, "home")
    finally:
        page.close()


def test_sign_in_schedule_copy_invite_and_sign_out(browser: Browser, server: Server) -> None:
    context = browser.new_context(
        permissions=["clipboard-read", "clipboard-write"], timezone_id="UTC"
    )
    try:
        page = context.new_page()
        page.goto(server.base_url + "/clinician")
        expect(page.get_by_role("heading", level=1)).to_have_text("Clinician sign in")
        expect(page.get_by_label("Email")).to_be_focused()
        assert_accessible(page, "sign in")

        # A wrong password is refused with a message in an alert, focus on the password.
        page.get_by_label("Email").fill(server.email)
        page.get_by_label("Password").fill("not the password at all")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("The email or password is wrong.")
        expect(page.get_by_label("Password")).to_be_focused()
        assert_accessible(page, "sign in: wrong password")

        page.get_by_label("Password").fill(server.password)
        page.get_by_label("Password").press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Today's visits")
        expect(page.locator("#signed-in-as")).to_have_text("Signed in as Dr Robin Lee")

        # Schedule a visit through the form: the invite link is shown and can be copied.
        # At noon of the server's day (UTC): the form's default, the next quarter hour, is
        # already tomorrow late in the evening, and the list shows only today's visits.
        today = datetime.now(UTC).date().isoformat()
        page.get_by_label("Date and time").fill(f"{today}T12:00")
        page.get_by_label("Patient label (optional)").fill("Form visit K.T.")
        page.get_by_role("button", name="Schedule visit").click()
        expect(page.get_by_role("heading", name="Visit scheduled")).to_be_focused()
        invite = page.get_by_label("Invite link for the patient")
        expect(invite).to_have_value(re.compile(rf"^{re.escape(server.base_url)}/join#invite=\S+$"))
        page.get_by_role("button", name="Copy invite link").click()
        expect(page.get_by_role("status")).to_have_text("Invite link copied.")
        assert page.evaluate("navigator.clipboard.readText()") == invite.input_value()
        row = page.locator("tr", has_text="Form visit K.T.")
        expect(row).to_contain_text("Scheduled")
        expect(
            row.get_by_role("link", name=re.compile(r"^Join visit with Form visit K\.T\."))
        ).to_have_attribute("href", re.compile(r"^/clinician/call\?visit=[0-9a-f]+$"))
        assert_accessible(page, "dashboard with invite")

        # High contrast and large text persist across a reload and stay accessible.
        page.get_by_text("Display settings").click()
        page.get_by_label("High contrast").check()
        page.get_by_label("Large text").check()
        page.reload()
        expect(page.get_by_role("heading", level=1)).to_have_text("Today's visits")
        html_classes = page.evaluate("document.documentElement.className")
        assert set(html_classes.split()) >= {"high-contrast", "large-text"}
        font_px = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        assert font_px == 20.0
        assert_accessible(page, "dashboard, high contrast and large text")
        page.get_by_text("Display settings").click()
        page.get_by_label("High contrast").uncheck()
        page.get_by_label("Large text").uncheck()

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Clinician sign in")
        expect(page.get_by_role("status")).to_have_text("You are signed out.")
        response = page.request.get(server.base_url + "/api/auth/me")
        assert response.status == 401
    finally:
        context.close()


def test_call_page_without_sign_in_explains(browser: Browser, server: Server) -> None:
    page = browser.new_page()
    try:
        page.goto(server.base_url + "/clinician/call?visit=0123456789abcdef")
        expect(page.get_by_role("heading", name="This visit cannot be opened")).to_be_visible()
        expect(page.get_by_text("Please sign in first.")).to_be_visible()
        expect(page.get_by_role("link", name="Sign in")).to_have_attribute("href", "/clinician")
        assert_accessible(page, "call page, signed out")
    finally:
        page.close()
