"""The patient's join page in Chromium: bad links, device problems with their help, a
keyboard-only join, leaving, and being turned away; axe-core on every state."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Server

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000


def open_invite(page: Page, invite_url: str, name: str) -> None:
    page.goto(invite_url)
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    page.get_by_role("radio", name="No").check()
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Check your camera and microphone")).to_be_visible()


def test_join_without_a_link_and_with_a_bad_link(browser: Browser, server: Server) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.base_url + "/join")
        expect(page.get_by_role("heading", name="This visit link cannot be used")).to_be_visible()
        expect(page.locator("#link-problem-text")).to_have_text(
            "This page needs the visit link your clinic sent you."
        )
        assert_accessible(page, "join: no link")

        # Pasting a link into the open page changes only the fragment.
        page.goto(server.base_url + "/join#invite=" + "x" * 40)
        expect(page).not_to_have_url(re.compile("invite"))
        # The consent question comes first, so it has the focus (see test_captions.py).
        expect(page.get_by_role("radio", name="Yes")).to_be_focused()
        page.get_by_role("radio", name="No").check()
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("alert")).to_have_text("Enter your name.")
        expect(page.get_by_label("Your name")).to_have_attribute("aria-invalid", "true")
        assert_accessible(page, "join: name missing")
        page.get_by_label("Your name").fill("Sam")
        page.get_by_role("button", name="Continue").click()
        problem = page.get_by_role("heading", name="This visit link cannot be used")
        expect(problem).to_be_focused()
        expect(page.locator("#link-problem-text")).not_to_be_empty()
    finally:
        context.close()


@pytest.fixture
def extra_browsers() -> Iterator[list[Browser]]:
    """Chromium instances a test launches with other media flags; closed afterwards."""
    launched: list[Browser] = []
    yield launched
    for extra in launched:
        extra.close()


def launch(playwright_driver: Playwright, launched: list[Browser], args: list[str]) -> Browser:
    chromium = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    launched.append(chromium)
    return chromium


def test_device_problems_get_help_and_a_way_on(
    playwright_driver: Playwright, extra_browsers: list[Browser], server: Server
) -> None:
    # The fake UI answering "deny" is Chromium's own permission-denied path.
    denying = launch(
        playwright_driver,
        extra_browsers,
        [
            "--use-fake-ui-for-media-stream=deny" if a == "--use-fake-ui-for-media-stream" else a
            for a in CHROMIUM_ARGS
        ],
    )
    page = denying.new_page()
    open_invite(page, server.create_visit("Denied devices")["invite_url"], "Dana")
    help_title = page.get_by_role("heading", name="Your browser is blocking the camera")
    expect(help_title).to_be_focused(timeout=TIMEOUT_MS)
    expect(page.locator("#device-help-text")).to_contain_text("camera icon")
    expect(page.locator("#device-help-text")).to_contain_text("Site settings")
    expect(page.get_by_role("button", name="Join the waiting room")).to_be_disabled()
    assert_accessible(page, "join: permission denied")
    page.get_by_role("button", name="Try again").click()
    expect(help_title).to_be_visible(timeout=TIMEOUT_MS)

    # Joining with chat only still reaches the waiting room.
    page.get_by_role("button", name="Join with chat only").click()
    expect(page.locator("#queue-text")).to_have_text(
        "You are number 1 in line.", timeout=TIMEOUT_MS
    )

    # No camera or microphone at all (no fake devices in this container).
    deviceless = launch(
        playwright_driver,
        extra_browsers,
        [a for a in CHROMIUM_ARGS if a != "--use-fake-device-for-media-stream"],
    )
    page = deviceless.new_page()
    open_invite(page, server.create_visit("No devices")["invite_url"], "Noor")
    expect(page.get_by_role("heading", name="No microphone was found.")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(page.get_by_role("button", name="Try again")).to_be_visible()
    assert_accessible(page, "join: no devices")


def test_keyboard_only_join_and_leave(browser: Browser, server: Server) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.create_visit("Keyboard visit")["invite_url"])
        # Space answers the consent question (Yes); Tab goes on to the name.
        expect(page.get_by_role("radio", name="Yes")).to_be_focused()
        page.keyboard.press("Space")
        expect(page.get_by_role("radio", name="Yes")).to_be_checked()
        page.keyboard.press("Tab")
        name = page.get_by_label("Your name")
        expect(name).to_be_focused()
        page.keyboard.type("Kim Keys")
        page.keyboard.press("Enter")

        heading = page.get_by_role("heading", name="Check your camera and microphone")
        expect(heading).to_be_focused()
        join = page.get_by_role("button", name="Join the waiting room")
        expect(join).to_be_enabled(timeout=TIMEOUT_MS)
        for _ in range(10):
            page.keyboard.press("Tab")
            if join.evaluate("el => el === document.activeElement"):
                break
        expect(join).to_be_focused()
        outline = join.evaluate("el => getComputedStyle(el).outlineStyle")
        assert outline == "solid"
        page.keyboard.press("Enter")

        expect(page.get_by_role("heading", name="Waiting room")).to_be_focused()
        expect(page.locator("#queue-text")).to_have_text(
            "You are number 1 in line.", timeout=TIMEOUT_MS
        )
        expect(page.locator("#clinician-text")).to_have_text("Your clinician has not joined yet.")
        expect(page.get_by_role("status")).to_contain_text("Your clinician has not joined yet.")

        (cookie,) = [c["value"] for c in context.cookies() if c["name"] == "th_patient"]
        # Leaving asks first; Escape keeps you in, the dialog's Leave leaves.
        leave = page.get_by_role("button", name="Leave the visit")
        page.keyboard.press("Tab")
        expect(leave).to_be_focused()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Leave the visit?")
        expect(dialog.get_by_role("button", name="Stay")).to_be_focused()
        assert_accessible(page, "join: leave dialog")
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(leave).to_be_focused()
        page.keyboard.press("Enter")
        page.keyboard.press("Shift+Tab")
        expect(dialog.get_by_role("button", name="Leave")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="The visit has ended")).to_be_focused(
            timeout=TIMEOUT_MS
        )
        expect(page.locator("#ended-text")).to_have_text("You left the visit.")
        # Leaving signed this browser out: the cookie is gone and its session is over.
        for _ in range(50):
            if not [c for c in context.cookies() if c["name"] == "th_patient"]:
                break
            page.wait_for_timeout(100)
        assert not [c for c in context.cookies() if c["name"] == "th_patient"]
        with httpx.Client(base_url=server.base_url, cookies={"th_patient": cookie}) as replay:
            refused = replay.get("/api/patient/visit")
        assert refused.status_code == 401
        assert refused.json()["detail"] == "You signed out of this visit."
    finally:
        context.close()


def test_clinician_turns_a_patient_away(browser: Browser, server: Server) -> None:
    created = server.create_visit("Denied visit")
    clinician_context = browser.new_context()
    patient_context = browser.new_context()
    try:
        clinician = clinician_context.new_page()
        clinician.goto(server.base_url + "/clinician")
        clinician.get_by_label("Email").fill(server.email)
        clinician.get_by_label("Password").fill(server.password)
        clinician.get_by_role("button", name="Sign in").click()
        expect(clinician.get_by_role("heading", level=1)).to_have_text("Today's visits")
        clinician.goto(f"{server.base_url}/clinician/call?visit={created['visit']['id']}")

        patient = patient_context.new_page()
        open_invite(patient, created["invite_url"], "Dee Nied")
        patient.get_by_role("button", name="Join the waiting room").click(timeout=TIMEOUT_MS)
        expect(patient.locator("#queue-text")).to_have_text(
            "You are number 1 in line.", timeout=TIMEOUT_MS
        )

        clinician.get_by_role("button", name="Deny Dee Nied").click(timeout=TIMEOUT_MS)
        dialog = clinician.get_by_role("dialog", name="Turn Dee Nied away?")
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name="Deny").click()
        expect(clinician.locator("#waiting-empty")).to_be_visible(timeout=TIMEOUT_MS)
        expect(patient.get_by_role("heading", name="The visit has ended")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        expect(patient.locator("#ended-text")).to_have_text(
            "The clinician could not admit you to this visit."
        )
        assert_accessible(patient, "join: turned away")
        assert server.visit_status(created["visit"]["id"]) == "scheduled"
    finally:
        clinician_context.close()
        patient_context.close()


def test_a_link_opened_on_another_device_ends_the_first(browser: Browser, server: Server) -> None:
    created = server.create_visit("Rejoin visit")
    clinician_context = browser.new_context()
    laptop_context = browser.new_context()
    phone_context = browser.new_context()
    try:
        clinician = clinician_context.new_page()
        clinician.goto(server.base_url + "/clinician")
        clinician.get_by_label("Email").fill(server.email)
        clinician.get_by_label("Password").fill(server.password)
        clinician.get_by_role("button", name="Sign in").click()
        expect(clinician.get_by_role("heading", level=1)).to_have_text("Today's visits")
        clinician.goto(f"{server.base_url}/clinician/call?visit={created['visit']['id']}")
        expect(clinician.get_by_role("status")).to_contain_text("Connected.", timeout=TIMEOUT_MS)

        laptop = laptop_context.new_page()
        open_invite(laptop, created["invite_url"], "Ray Laptop")
        laptop.get_by_role("button", name="Join the waiting room").click(timeout=TIMEOUT_MS)
        expect(laptop.locator("#queue-text")).to_have_text(
            "You are number 1 in line.", timeout=TIMEOUT_MS
        )
        # The clinician sees the typed name beside what the server knows: the role and the
        # label the clinic scheduled.
        waiting = clinician.locator("#waiting-list li")
        expect(waiting).to_have_count(1, timeout=TIMEOUT_MS)
        expect(waiting.locator(".who")).to_have_text("Ray LaptopPatient, scheduled as Rejoin visit")

        phone = phone_context.new_page()
        open_invite(phone, created["invite_url"], "Ray Phone")
        expect(laptop.get_by_role("heading", name="The visit has ended")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        expect(laptop.locator("#ended-text")).to_have_text(
            "This visit was opened on another device."
        )
        assert_accessible(laptop, "join: opened on another device")
        expect(clinician.locator("#patient-rejoined")).to_have_text(
            "The patient rejoined from a new device.", timeout=TIMEOUT_MS
        )
        assert_accessible(clinician, "call: patient rejoined")

        # A reload of the first device says the same, instead of asking for the link.
        laptop.reload()
        expect(laptop.locator("#link-problem-text")).to_have_text(
            "This visit was opened on another device."
        )

        # Today's visits show the name typed on the new device beside the scheduled label.
        clinician.goto(server.base_url + "/clinician")
        row = clinician.locator(f'tr[data-visit-id="{created["visit"]["id"]}"]')
        expect(row.locator("th")).to_have_text(
            "Rejoin visitPatient gave the name: Ray Phone; rejoined from a new device",
            timeout=TIMEOUT_MS,
        )
        assert_accessible(clinician, "dashboard: typed name beside the label")
    finally:
        clinician_context.close()
        laptop_context.close()
        phone_context.close()


def test_the_clinician_withdraws_the_link_and_makes_a_new_one(
    browser: Browser, server: Server
) -> None:
    created = server.create_visit("Link visit")
    clinician_context = browser.new_context()
    patient_context = browser.new_context()
    try:
        clinician = clinician_context.new_page()
        clinician.goto(server.base_url + "/clinician")
        clinician.get_by_label("Email").fill(server.email)
        clinician.get_by_label("Password").fill(server.password)
        clinician.get_by_role("button", name="Sign in").click()
        expect(clinician.get_by_role("heading", level=1)).to_have_text("Today's visits")
        clinician.goto(f"{server.base_url}/clinician/call?visit={created['visit']['id']}")
        expect(clinician.get_by_role("status")).to_contain_text("Connected.", timeout=TIMEOUT_MS)

        patient = patient_context.new_page()
        open_invite(patient, created["invite_url"], "Lin K")
        patient.get_by_role("button", name="Join the waiting room").click(timeout=TIMEOUT_MS)
        expect(patient.locator("#queue-text")).to_have_text(
            "You are number 1 in line.", timeout=TIMEOUT_MS
        )

        clinician.get_by_role("button", name="Withdraw patient link").click()
        dialog = clinician.get_by_role("dialog", name="Withdraw the patient's link?")
        expect(dialog.get_by_role("button", name="Keep the link")).to_be_focused()
        assert_accessible(clinician, "call: withdraw link dialog")
        dialog.get_by_role("button", name="Withdraw link").click()
        expect(patient.locator("#link-problem-text")).to_have_text(
            "This visit link was withdrawn; ask the clinic for a new one.", timeout=TIMEOUT_MS
        )
        assert_accessible(patient, "join: link withdrawn")

        clinician.get_by_role("button", name="New patient link").click()
        clinician.get_by_role("dialog", name="Make a new patient link?").get_by_role(
            "button", name="Make a new link"
        ).click()
        fresh = clinician.get_by_label("New invite link for the patient")
        expect(fresh).to_be_focused()
        expect(fresh).to_have_value(re.compile(r"/join#invite=[A-Za-z0-9_-]{40,}$"))
        assert_accessible(clinician, "call: new link shown")
        assert fresh.input_value() != created["invite_url"]

        # The withdrawn link is refused with its reason; the new one opens the visit.
        again = patient_context.new_page()
        again.goto(created["invite_url"])
        again.get_by_role("radio", name="No").check()
        again.get_by_label("Your name").fill("Lin K")
        again.get_by_role("button", name="Continue").click()
        expect(again.locator("#link-problem-text")).to_have_text(
            "this visit link was withdrawn; ask the clinic for a new one"
        )
        open_invite(again, fresh.input_value(), "Lin K")
    finally:
        clinician_context.close()
        patient_context.close()
