"""The admin console by keyboard alone, axe-core on each state; a clinician is refused it."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Server, _environment
from tests.browser.test_account_security import activate, password_step

pytestmark = pytest.mark.browser

PASSWORD = "admins keep the clinic running 9"


def create_account(server: Server, kind: str, name: str) -> str:
    """An account of this test's own (the shared clinician is left as it is)."""
    assert server.data_dir is not None
    email = f"{kind}-{uuid.uuid4().hex[:8]}@clinic.example"
    home = server.data_dir.parent
    created = subprocess.run(
        [sys.executable, "-m", "telehealth", kind, "create", "--email", email,
         "--name", name, "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, cwd=home,
        env=_environment(home, int(server.base_url.rsplit(":", 1)[1])), timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return email


def test_a_clinician_is_refused_the_admin_console(browser: Browser, server: Server) -> None:
    page = browser.new_page()
    try:
        signed_out = page.goto(server.base_url + "/admin")
        assert signed_out is not None and signed_out.status == 401
        password_step(page, server, server.email, server.password)
        expect(page.get_by_role("heading", level=1)).to_have_text("Today's visits")
        expect(page.get_by_role("link", name="Admin", exact=True)).to_have_count(0)
        refused = page.goto(server.base_url + "/admin")
        assert refused is not None and refused.status == 403
    finally:
        page.close()


def test_an_admin_manages_staff_and_reads_the_audit_log(browser: Browser, server: Server) -> None:
    admin = create_account(server, "admin", "Alex Admin")
    clinician_name = f"Dr Lee {uuid.uuid4().hex[:4]}"
    clinician = create_account(server, "clinician", clinician_name)
    page = browser.new_page()
    try:
        password_step(page, server, admin, PASSWORD)
        expect(page.get_by_role("heading", level=1)).to_have_text("Today's visits")
        activate(page, "Admin", role="link")
        expect(page.get_by_role("heading", level=1)).to_have_text("Admin")
        row = page.locator("#staff-body tr", has_text=clinician)
        expect(row).to_contain_text("Active")
        assert_accessible(page, "admin console")

        activate(page, f"Disable: {clinician_name}")
        expect(page.locator("#status")).to_have_text(f"Disabled: {clinician_name}.")
        expect(row).to_contain_text("Disabled")
        activate(page, f"Enable: {clinician_name}")
        expect(row.get_by_role("cell", name="Active", exact=True)).to_be_visible()

        newcomer = f"new-{uuid.uuid4().hex[:8]}@clinic.example"
        page.get_by_label("Name").fill("Dr Kim New")
        page.get_by_label("Email").fill(newcomer)
        page.get_by_label("Temporary password").fill("violet harbour lantern seventeen")
        page.get_by_label("Temporary password").press("Enter")
        expect(page.locator("#staff-body tr", has_text=newcomer)).to_contain_text(
            "Active, must change password"
        )
        page.get_by_label("Email").fill("not-an-email")
        page.get_by_label("Name").fill("X")
        page.get_by_label("Temporary password").fill("violet harbour lantern seventeen")
        page.get_by_label("Temporary password").press("Enter")
        expect(page.locator("#create-error")).to_contain_text("not an email address")
        assert_accessible(page, "admin console: after adding staff")

        page.get_by_label("Action (for example login, staff.disabled)").fill("staff.disabled")
        page.get_by_label("Action (for example login, staff.disabled)").press("Enter")
        expect(page.locator("#status")).to_have_text("1 event shown.")
        expect(page.locator("#audit-body tr")).to_have_count(1)
        expect(page.locator("#audit-body tr td").nth(1)).to_have_text("staff.disabled")
        expect(page.locator("#audit-body tr td").nth(3)).to_have_text("127.0.0.1")
        expect(page.locator("#audit-body tr td").nth(4)).to_have_text("success")
        expect(page.get_by_role("link", name="Export as NDJSON")).to_have_attribute(
            "href", "/api/admin/audit/export?action=staff.disabled"
        )
        assert_accessible(page, "admin console: filtered audit log")
    finally:
        page.close()

    first_sign_in = browser.new_page()
    try:
        password_step(first_sign_in, server, newcomer, "violet harbour lantern seventeen")
        expect(first_sign_in.get_by_label("New password")).to_be_focused()
        assert_accessible(first_sign_in, "first sign-in: choose a password")
        first_sign_in.get_by_label("New password").fill("password1234")
        first_sign_in.get_by_label("New password").press("Enter")
        expect(first_sign_in.locator("#new-password-error")).to_contain_text("too easy")
        first_sign_in.get_by_label("New password").fill("copper meadow whistle forty")
        first_sign_in.get_by_label("New password").press("Enter")
        expect(first_sign_in.get_by_role("heading", level=1)).to_have_text("Today's visits")
    finally:
        first_sign_in.close()
