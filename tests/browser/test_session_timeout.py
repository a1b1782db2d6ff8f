"""The session-timeout warning in Chromium (WCAG 2.2.1): a modal dialog before the session
ends, extending by Enter or Escape, signing out, and the message once it has ended; axe-core
on each state. Playwright's fake clock reaches the end of an eight-hour session at once; the
server keeps real time, so what it says about the session is the truth the page must show."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from telehealth.security import hash_token
from tests.browser.axe import assert_accessible
from tests.browser.conftest import Server
from tests.server_database import server_sqlite

pytestmark = pytest.mark.browser

# A staff session ends after 15 idle minutes (the server's default), long before its 8 h
# lifetime: that is the end the page warns about, and what "Stay signed in" renews.
STAFF_SESSION_END = timedelta(minutes=15)
PATIENT_TTL = timedelta(hours=12)
MODULE = "/static/js/session-timeout.js"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context()
    try:
        yield context
    finally:
        context.close()


def sign_in(context: BrowserContext, server: Server) -> None:
    """Sign in through the API; the context's pages share the cookie."""
    response = context.request.post(
        server.base_url + "/api/auth/login",
        data={"email": server.email, "password": server.password},
    )
    assert response.ok, response.text()


def open_page(context: BrowserContext, url: str) -> Page:
    """A page whose clock Playwright controls from the start, with the warning set up."""
    page = context.new_page()
    page.clock.install()
    page.goto(url)
    # Resolves once the page has asked the server when the session ends.
    page.evaluate(f"() => import('{MODULE}').then((module) => module.refreshSession())")
    return page


def fetch_json(page: Page, path: str) -> Any:
    return page.evaluate(
        "async (path) => { const r = await fetch(path); return [r.status, await r.json()]; }",
        path,
    )


def session_end(page: Page, path: str = "/api/auth/me") -> datetime:
    status, body = fetch_json(page, path)
    assert status == 200, body
    return datetime.fromisoformat(body["expires_at"])


def skip_to_warning(page: Page, ttl: timedelta) -> None:
    """Jump the page's clock to 100 s before the end of a session started just now."""
    page.clock.fast_forward(int((ttl - timedelta(seconds=100)).total_seconds() * 1000))


def seconds_shown(dialog: Locator) -> int:
    text = dialog.get_by_role("timer").inner_text()
    match = re.fullmatch(r"(?:(\d+) minutes?)? ?(?:(\d+) seconds?)?", text)
    assert match and text, f"not a countdown: {text!r}"
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def test_warning_extends_with_enter_or_escape_and_can_sign_out(
    context: BrowserContext, server: Server
) -> None:
    sign_in(context, server)
    page = open_page(context, server.base_url + "/clinician")
    expect(page.get_by_role("heading", level=1)).to_have_text("Today's visits")
    first_end = session_end(page)
    assert abs(first_end - (datetime.now(UTC) + STAFF_SESSION_END)) < timedelta(minutes=1)
    dialog = page.get_by_role("dialog", name="Your session is about to end")
    expect(dialog).to_have_count(0)
    working_on = page.get_by_label("Patient label (optional)")
    working_on.focus()

    skip_to_warning(page, STAFF_SESSION_END)
    expect(dialog).to_be_visible()
    stay = dialog.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()
    expect(dialog.get_by_role("button", name="Sign out")).to_be_visible()
    shown = seconds_shown(dialog)
    assert 20 <= shown <= 100
    news = dialog.get_by_role("status")
    expect(news).to_have_text(
        re.compile(
            r"^For your security, you will be signed out in 1 minute \d+ seconds?\. "
            r"Choose Stay signed in to keep working\.$"
        )
    )
    assert_accessible(page, "session warning")

    # The countdown moves every second; what is announced does not.
    opening_news = news.inner_text()
    page.clock.run_for(5_000)
    assert seconds_shown(dialog) <= shown - 5
    assert news.inner_text() == opening_news
    # ... until a mark: one minute left.
    page.clock.run_for((seconds_shown(dialog) - 60) * 1000)
    expect(news).to_have_text("1 minute left.")
    assert seconds_shown(dialog) == 60

    stay.press("Enter")
    expect(dialog).to_be_hidden()
    expect(working_on).to_be_focused()  # back where the user was
    expect(page.locator("#status")).to_have_text(re.compile(r"^You stay signed in until "))
    second_end = session_end(page)
    assert second_end > first_end
    assert abs(second_end - (datetime.now(UTC) + STAFF_SESSION_END)) < timedelta(minutes=1)

    # Re-scheduled from the new end: the warning comes back before it, and Escape extends.
    skip_to_warning(page, STAFF_SESSION_END)
    expect(dialog).to_be_visible()
    expect(stay).to_be_focused()
    assert seconds_shown(dialog) >= 20
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    third_end = session_end(page)
    assert third_end > second_end

    skip_to_warning(page, STAFF_SESSION_END)
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinician sign in")
    status, _ = fetch_json(page, "/api/auth/me")
    assert status == 401


def expire_in_database(server: Server, cookie: str) -> None:
    """End the session on the server, as its time running out does."""
    assert server.data_dir is not None
    past = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
    with server_sqlite(server.data_dir) as database:
        changed = database.execute(
            "UPDATE sessions SET expires_at = ? WHERE token_hash = ?",
            (past.strftime("%Y-%m-%d %H:%M:%S.%f"), hash_token(cookie)),
        ).rowcount
    assert changed == 1


def test_after_the_end_the_page_says_so_and_links_to_sign_in(
    context: BrowserContext, server: Server
) -> None:
    sign_in(context, server)
    page = open_page(context, server.base_url + "/clinician/review")
    expect(page.get_by_role("heading", level=1)).to_have_text("Transcripts")
    cookie = next(c["value"] for c in context.cookies() if c["name"] == "th_clinician")

    expire_in_database(server, cookie)
    # A tab asleep through the warning wakes after the end.
    page.clock.fast_forward(int((STAFF_SESSION_END + timedelta(seconds=5)).total_seconds() * 1000))
    dialog = page.get_by_role("dialog", name="Your session has ended")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("For your security, you were signed out.")
    sign_in_again = dialog.get_by_role("link", name="Sign in again")
    expect(sign_in_again).to_be_focused()
    expect(sign_in_again).to_have_attribute("href", "/clinician")
    expect(dialog.get_by_role("button", name="Stay signed in")).to_be_hidden()
    assert_accessible(page, "session ended")

    sign_in_again.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinician sign in")


def test_patient_warning_extends_the_visit_session(context: BrowserContext, server: Server) -> None:
    created = server.create_visit("Timeout patient")
    invite = created["invite_url"].split("#invite=")[1]
    opened = context.request.post(
        server.base_url + "/api/patient/session",
        data={"invite": invite, "display_name": "Sam"},
    )
    assert opened.ok, opened.text()

    page = context.new_page()
    page.clock.install()
    page.goto(server.base_url + "/join")  # back on the page of a visit already opened
    expect(page.get_by_role("heading", name="Check your camera and microphone")).to_be_visible()
    # The patient page's own tag, as join.html carries it.
    page.evaluate(
        """(src) => new Promise((resolve) => {
             const tag = document.createElement("script");
             tag.type = "module";
             tag.src = src;
             tag.dataset.session = "patient";
             tag.onload = resolve;
             document.head.append(tag);
           })""",
        MODULE,
    )
    page.evaluate(f"() => import('{MODULE}').then((module) => module.refreshSession())")
    first_end = session_end(page, "/api/patient/session")
    assert abs(first_end - (datetime.now(UTC) + PATIENT_TTL)) < timedelta(minutes=1)

    skip_to_warning(page, PATIENT_TTL)
    dialog = page.get_by_role("dialog", name="Your visit session is about to end")
    expect(dialog).to_be_visible()
    stay = dialog.get_by_role("button", name="Stay in the visit")
    expect(stay).to_be_focused()
    assert seconds_shown(dialog) >= 20
    assert_accessible(page, "patient session warning")

    stay.press("Enter")
    expect(dialog).to_be_hidden()
    assert session_end(page, "/api/patient/session") > first_end
