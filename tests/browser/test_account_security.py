"""Setting up an authenticator app on the account security page, then signing in with the
password and a TOTP code, by keyboard; axe-core on every state of both steps."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Server, _environment, _running_server

pytestmark = pytest.mark.browser

PASSWORD = "a second factor makes this safer 7"


def create_account(server: Server) -> str:
    """A clinician of this test's own, so the shared account keeps signing in by password."""
    assert server.data_dir is not None
    email = f"mfa-{uuid.uuid4().hex[:8]}@clinic.example"
    home = server.data_dir.parent
    created = subprocess.run(
        [sys.executable, "-m", "telehealth", "clinician", "create", "--email", email,
         "--name", "Dr Sam Okafor", "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, cwd=home,
        env=_environment(home, int(server.base_url.rsplit(":", 1)[1])), timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return email


def activate(page: Page, name: str, role: str = "button") -> None:
    """Keyboard only: focus the control and press Enter."""
    control = page.get_by_role(role, name=name)  # type: ignore[arg-type]
    control.focus()
    control.press("Enter")


def password_step(page: Page, server: Server, email: str, password: str = PASSWORD) -> None:
    page.goto(server.base_url + "/clinician")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Password").press("Enter")


def test_set_up_an_authenticator_app_then_sign_in_with_its_code(
    browser: Browser, server: Server
) -> None:
    email = create_account(server)
    page = browser.new_page()
    try:
        password_step(page, server, email)
        expect(page.get_by_role("heading", level=1)).to_have_text("Today's visits")
        activate(page, "Account security", role="link")
        expect(page.get_by_role("heading", level=1)).to_have_text("Account security")
        expect(page.locator("#totp-state")).to_have_text("No authenticator app is set up yet.")
        assert_accessible(page, "account security")

        activate(page, "Set up authenticator app")
        qr = page.get_by_role("img", name="QR code of the key for your authenticator app")
        expect(qr).to_be_visible()
        expect(page.get_by_label("Code from the app")).to_be_focused()
        expect(page.locator("#totp-key")).to_have_text(re.compile(r"\S"))
        assert_accessible(page, "account security: set up")
        secret = (page.locator("#totp-key").text_content() or "").replace(" ", "")
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)

        totp = pyotp.TOTP(secret)
        page.get_by_label("Code from the app").fill(totp.now())
        page.get_by_label("Code from the app").press("Enter")
        expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_focused()
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        expect(page.get_by_role("status")).to_have_text(
            "The authenticator app is set up. Save your recovery codes now."
        )
        assert_accessible(page, "account security: recovery codes")
        activate(page, "I have saved my codes")
        expect(page.locator("#recovery-left")).to_have_text("Recovery codes left: 10 of 10.")
        activate(page, "Sign out")
        expect(page.get_by_role("status")).to_have_text("You are signed out.")

        password_step(page, server, email)
        expect(page.get_by_role("heading", level=1)).to_have_text("Enter your authentication code")
        # (The page's sections are labelled by the heading too: ask for the text box.)
        code = page.get_by_role("textbox", name="Authentication code")
        expect(code).to_be_focused()
        expect(code).to_have_attribute("autocomplete", "one-time-code")
        expect(code).to_have_attribute("inputmode", "numeric")
        # This account has no passkey, so none is offered.
        expect(page.get_by_role("button", name="Use a passkey")).to_be_hidden()
        assert_accessible(page, "sign in: code")

        valid = {totp.at(time.time() + n * 30) for n in (-1, 0, 1, 2)}
        code.fill(next(c for c in ("111111", "222222", "333333") if c not in valid))
        code.press("Enter")
        expect(page.get_by_role("alert").filter(has_text="code")).to_have_text(
            "That code is not right, or was used already. Try again."
        )
        assert_accessible(page, "sign in: wrong code")

        activate(page, "Use a recovery code instead")
        expect(page.get_by_role("textbox", name="Recovery code")).to_be_focused()
        assert_accessible(page, "sign in: recovery code")
        activate(page, "Use the authenticator app instead")

        # The confirming code's time step is used up: the next step's code is the fresh one.
        code.fill(totp.at(time.time() + 30))
        code.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Today's visits")
        expect(page.locator("#signed-in-as")).to_have_text("Signed in as Dr Sam Okafor")
    finally:
        page.close()


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server where every staff account must set up a second factor first."""
    data_dir = tmp_path_factory.mktemp("require-mfa-server")
    with _running_server(data_dir, settings={"TELEHEALTH_REQUIRE_MFA": "true"}) as running:
        yield running


def test_a_required_second_factor_is_set_up_right_after_the_password(
    browser: Browser, strict_server: Server
) -> None:
    server = strict_server
    page = browser.new_page()
    try:
        password_step(page, server, server.email, server.password)
        expect(page).to_have_url(server.base_url + "/clinician/security")
        expect(page.get_by_text("Your clinic requires a second factor.")).to_be_visible()
        expect(page.get_by_role("button", name="Add a passkey")).to_be_hidden()
        assert_accessible(page, "account security: set-up required")

        activate(page, "Set up authenticator app")
        # The key is on the page once the setup view has its focus.
        expect(page.get_by_label("Code from the app")).to_be_focused()
        expect(page.locator("#totp-key")).to_have_text(re.compile(r"\S"))
        secret = (page.locator("#totp-key").text_content() or "").replace(" ", "")
        page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
        page.get_by_label("Code from the app").press("Enter")
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        # Confirming the code finished the sign-in: the header names who is signed in.
        expect(page.locator("#signed-in-as")).to_have_text("Signed in as Dr Robin Lee")
        activate(page, "I have saved my codes")
        expect(page.get_by_role("heading", level=1)).to_have_text("Today's visits")
    finally:
        page.close()
