"""Error pages in Chromium: a missing page is an accessible HTML 404 with a way home, the
API still answers JSON, and the join page's "link cannot be used" view passes axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Server

pytestmark = pytest.mark.browser


def test_a_missing_page_is_an_accessible_404(browser: Browser, server: Server) -> None:
    page = browser.new_page()
    try:
        response = page.goto(server.base_url + "/no-such-page")
        assert response is not None
        assert response.status == 404
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        expect(page).to_have_title("Page not found – Telehealth")
        expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
        expect(page.get_by_role("main")).to_contain_text("There is no page at this address.")
        expect(page.get_by_role("banner")).to_contain_text("Telehealth assistant")
        assert_accessible(page, "404 page")

        # Keyboard: the skip link comes first and leads into the main content.
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to main content")
        expect(skip).to_be_focused()
        page.keyboard.press("Enter")
        expect(page).to_have_url(server.base_url + "/no-such-page#main")

        page.get_by_role("link", name="Go to the home page").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Video visits with your clinic")
    finally:
        page.close()


def test_the_api_answers_json_even_to_a_browser_tab(browser: Browser, server: Server) -> None:
    page = browser.new_page()
    try:
        response = page.goto(server.base_url + "/api/no-such-thing")
        assert response is not None
        assert response.status == 404
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"detail": "Not Found"}
        # The pages' own fetch() calls get JSON for a missing page too.
        status, body = page.evaluate(
            "async () => { const r = await fetch('/no-such-page');"
            " return [r.status, await r.json()]; }"
        )
        assert (status, body) == (404, {"detail": "Not Found"})
    finally:
        page.close()


def test_join_link_that_cannot_be_used_is_accessible(browser: Browser, server: Server) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.base_url + "/join")
        heading = page.get_by_role("heading", name="This visit link cannot be used")
        expect(heading).to_be_visible()
        expect(page.locator("#link-problem-text")).not_to_be_empty()
        assert_accessible(page, "join: link cannot be used")
    finally:
        context.close()
