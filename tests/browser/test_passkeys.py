"""Passkeys in Chromium through the DevTools virtual authenticator: add one on the account
security page, sign out, then sign in with the password and the passkey."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Server, _running_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def localhost_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose public URL is http://localhost:...: a passkey's relying party must be
    a host name, never an IP address."""
    with _running_server(tmp_path_factory.mktemp("passkey-server"), host="localhost") as running:
        yield running


def test_add_a_passkey_then_sign_in_with_it(browser: Browser, localhost_server: Server) -> None:
    server = localhost_server
    context = browser.new_context()
    try:
        page = context.new_page()
        devtools = context.new_cdp_session(page)
        devtools.send("WebAuthn.enable")
        devtools.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )
        page.goto(server.base_url + "/clinician")
        page.get_by_label("Email").fill(server.email)
        page.get_by_label("Password").fill(server.password)
        page.get_by_label("Password").press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Today's visits")

        page.goto(server.base_url + "/clinician/security")
        expect(page.locator("#passkey-count")).to_have_text("0 passkeys are set up.")
        add = page.get_by_role("button", name="Add a passkey")
        add.focus()
        add.press("Enter")
        expect(page.get_by_role("status")).to_have_text(
            "The passkey is added. Signing in can now use it instead of a code."
        )
        expect(page.locator("#passkey-count")).to_have_text("1 passkey is set up.")
        assert_accessible(page, "account security: passkey added")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("status")).to_have_text("You are signed out.")

        page.goto(server.base_url + "/clinician")
        page.get_by_label("Email").fill(server.email)
        page.get_by_label("Password").fill(server.password)
        page.get_by_label("Password").press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Enter your authentication code")
        passkey = page.get_by_role("button", name="Use a passkey")
        assert_accessible(page, "sign in: code or passkey")
        passkey.focus()
        passkey.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Today's visits")
        expect(page.locator("#signed-in-as")).to_have_text("Signed in as Dr Robin Lee")
    finally:
        context.close()
