"""Whole journeys with the keyboard alone in Chromium: the clinician from signing in to
exporting a corrected transcript, and the patient from the invite link through the intake
form and the call to leaving. Only keys are pressed (no clicks, fills or focus calls); after
every key the focus is visible and has moved (tests/browser/keyboard.py). The other side of
each visit is played from Python over the real websocket (tests/browser/visit_socket.py)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Server
from tests.browser.keyboard import expect_focus, press, tab_to
from tests.browser.test_review_page import CaptionLine, run_beside_playwright, store_caption_lines
from tests.browser.visit_socket import VisitSocket, clinician_socket, patient_socket
from tests.server_database import server_database
from tests.telehealth.intake_app.sample import answers_by_link_id

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
PATIENT = "Jo Keyes"
LABEL = "Keyboard review K.R."
HEARD = "my hed has throbbed since tuesday"  # "hed": a word the recognizer was unsure of
CORRECTED = "my head has throbbed since tuesday"


def _store_captions(server: Server, visit_id: str) -> None:
    """Store two final captions of the call, as the speech pipeline does with consent."""
    assert server.data_dir is not None
    data_dir = server.data_dir
    lines: list[CaptionLine] = [
        ("clinician", "Dr Robin Lee", 1.0, "what brings you in today", [0.9] * 5),
        ("patient", PATIENT, 4.0, HEARD, [0.95, 0.2, 0.9, 0.9, 0.9, 0.9]),
    ]

    async def store() -> None:
        database = server_database(data_dir)
        try:
            await store_caption_lines(database, visit_id, lines)
        finally:
            await database.close()

    run_beside_playwright(store())


def _sign_in_from_home(page: Page, server: Server) -> None:
    page.goto(server.base_url + "/")
    tab_to(page, page.get_by_role("link", name="Skip to main content"))
    tab_to(page, page.get_by_role("link", name="Clinician sign in"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinician sign in")
    expect_focus(page, page.get_by_label("Email"))
    page.keyboard.type(server.email)
    press(page, "Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(server.password)
    press(page, "Enter")
    expect_focus(page, page.get_by_role("heading", level=1, name="Today's visits"))


def _wait_for_status(server: Server, visit_id: str, status: str) -> None:
    """The room writes a visit's status just after the event; poll until it is stored."""
    deadline = time.monotonic() + 10
    while server.visit_status(visit_id) != status:
        assert time.monotonic() < deadline, f"the visit's status never became {status!r}"
        time.sleep(0.1)


def test_clinician_admits_ends_and_corrects_the_transcript_by_keyboard(
    browser: Browser, server: Server
) -> None:
    created = server.create_visit(LABEL)
    visit_id = created["visit"]["id"]
    context = browser.new_context(base_url=server.base_url)
    try:
        page = context.new_page()
        with patient_socket(server, created["invite_url"], PATIENT, consent=True) as patient:
            assert patient.welcome["state"] == "waiting"
            _wait_for_status(server, visit_id, "waiting")
            _sign_in_from_home(page, server)
            _open_the_waiting_visit(page, visit_id)
            _admit_and_chat(page, server, visit_id)
            assert patient.wait_for("admitted")["peers"][0]["name"] == "Dr Robin Lee"
            chat = patient.wait_for("chat")
            assert (chat["name"], chat["text"]) == ("Dr Robin Lee", "Your results look fine.")
            _end_the_call(page)
            patient.wait_for("call_ended")
        _open_the_review(page, visit_id)
        _search_and_correct(page)
        _export(page, visit_id)
    finally:
        context.close()


def _open_the_waiting_visit(page: Page, visit_id: str) -> None:
    row = page.locator(f'tr[data-visit-id="{visit_id}"]')
    expect(row.locator(".badge")).to_have_text("Waiting")
    # Patients of other tests may still be waiting on this shared server.
    expect(page.get_by_role("status")).to_contain_text(
        re.compile(rf"{re.escape(LABEL)} is waiting\.|\d+ patients are waiting\.")
    )
    assert_accessible(page, "dashboard: a patient waiting")
    tab_to(page, row.get_by_role("link", name=re.compile(rf"^Join visit with {re.escape(LABEL)}")))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/clinician/call\?visit={visit_id}$"))
    expect(page.get_by_role("status")).to_contain_text(
        "1 waiting to be admitted", timeout=TIMEOUT_MS
    )


def _admit_and_chat(page: Page, server: Server, visit_id: str) -> None:
    tab_to(page, page.get_by_role("button", name=f"Admit {PATIENT}"))
    page.keyboard.press("Enter")
    # The admitted patient leaves the list: focus stays in the waiting room panel.
    expect_focus(page, page.get_by_role("heading", name="Waiting room"))
    expect(page.get_by_role("status")).to_contain_text(f"{PATIENT} joined the call.")
    expect(page.locator("#waiting-empty")).to_be_visible()
    expect(page.locator("#consent-state")).to_have_text("Transcript: saved with consent")
    _store_captions(server, visit_id)  # what the speech pipeline stores while they talk

    tab_to(page, page.get_by_label("Message"))
    page.keyboard.type("Your results look fine.")
    press(page, "Enter")
    expect(page.locator("#chat-log")).to_contain_text("You: Your results look fine.")


def _end_the_call(page: Page) -> None:
    controls = page.get_by_role("group", name="Call controls")
    end_call = controls.get_by_role("button", name="End call")
    tab_to(page, end_call, backwards=True)
    page.keyboard.press("Enter")
    # The dialog opens on the harmless choice; Escape closes it, focus back on the opener.
    dialog = page.get_by_role("dialog", name="End the call for everyone?")
    expect_focus(page, dialog.get_by_role("button", name="Keep talking"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect_focus(page, end_call)
    page.keyboard.press("Enter")
    expect_focus(page, dialog.get_by_role("button", name="Keep talking"))
    press(page, "Shift+Tab")
    expect(dialog.get_by_role("button", name="End call")).to_be_focused()
    page.keyboard.press("Enter")
    expect_focus(page, page.get_by_role("heading", name="The visit has ended"))
    expect(page.locator("#ended-text")).to_have_text("You ended the visit.")


def _open_the_review(page: Page, visit_id: str) -> None:
    tab_to(page, page.get_by_role("link", name="Back to today's visits"))
    page.keyboard.press("Enter")
    expect_focus(page, page.get_by_role("heading", level=1, name="Today's visits"))
    row = page.locator(f'tr[data-visit-id="{visit_id}"]')
    expect(row.locator(".badge")).to_have_text("Ended")
    review = row.get_by_role("link", name=re.compile(rf"^Review transcript of {re.escape(LABEL)}"))
    tab_to(page, review)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(rf"^Transcript: {re.escape(LABEL)}")
    )
    expect(page.locator(".uncertain")).to_have_text("hed (uncertain)")
    expect(page.locator("#chat")).to_contain_text("Your results look fine.")


def _search_and_correct(page: Page) -> None:
    tab_to(page, page.get_by_label("Search transcripts"))
    page.keyboard.type("throbbed")
    page.keyboard.press("Enter")
    expect_focus(page, page.get_by_role("heading", name="Search results"))
    expect(page.get_by_role("status")).to_have_text("1 segment matches “throbbed”.")
    tab_to(page, page.get_by_role("link", name=re.compile(rf"{PATIENT} at 00:00:04$")))
    page.keyboard.press("Enter")
    # The result opens the transcript at the segment, which takes the focus.
    target = page.locator("li.segment.is-target")
    expect_focus(page, target)
    expect(target.locator(".segment-text")).to_have_text(HEARD.replace("hed", "hed (uncertain)"))
    assert_accessible(page, "review: opened at a search result")

    edit = page.get_by_role("button", name="Edit segment at 00:00:04")
    tab_to(page, edit)
    page.keyboard.press("Enter")
    field = page.get_by_label(f"Corrected text ({PATIENT}, 00:00:04)")
    expect_focus(page, field)
    expect(field).to_have_value(HEARD)
    press(page, "Control+A")
    page.keyboard.type(CORRECTED)
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("status")).to_have_text("Correction saved for the segment at 00:00:04.")
    expect_focus(page, edit)
    expect(page.locator("#segments .segment-text").nth(1)).to_have_text(CORRECTED)
    expect(page.locator(".uncertain")).to_have_count(0)
    assert_accessible(page, "review: correction saved")


def _export(page: Page, visit_id: str) -> None:
    text_link = page.get_by_role("link", name="Plain text (.txt)")
    expect(text_link).to_have_attribute("href", f"/api/transcripts/{visit_id}/export?format=txt")
    tab_to(page, text_link, backwards=True)
    with page.expect_download() as download_info:
        page.keyboard.press("Enter")
    download = download_info.value
    assert download.suggested_filename.endswith(".txt")
    exported = Path(download.path()).read_text(encoding="utf-8")
    assert f"[00:00:04] {PATIENT}: {CORRECTED}" in exported
    assert "Dr Robin Lee: Your results look fine." in exported


PATIENT_LABEL = "Keyboard patient K.P."
THANKS = "Thank you, your answers were sent."


def test_patient_journey_by_keyboard(browser: Browser, server: Server) -> None:
    created = server.create_visit(PATIENT_LABEL)
    visit_id = created["visit"]["id"]
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(created["invite_url"])
        _consent_name_and_devices(page)
        _intake_by_form(page)
        _check_stored_intake(server, visit_id)
        with clinician_socket(server, visit_id) as clinician:
            expect(page.locator("#clinician-text")).to_have_text(
                "Your clinician is here and will let you in soon."
            )
            waiting = [p for p in clinician.welcome["peers"] if p["state"] == "waiting"]
            assert [p["name"] for p in waiting] == ["Kim Keys"]
            clinician.send({"type": "admit", "peer_id": waiting[0]["peer_id"]})
            expect_focus(page, page.get_by_role("heading", name="In your visit"))
            _mute_and_unmute(page, clinician)
            _registry_shortcuts_in_the_call(page)
            _leave(page)
            left = clinician.wait_for("peer_left")
            assert (left["peer"]["name"], left["reason"]) == ("Kim Keys", "left")
    finally:
        context.close()


def _consent_name_and_devices(page: Page) -> None:
    # The consent question comes first and has the focus; Space answers Yes.
    yes = page.get_by_role("radio", name="Yes")
    expect_focus(page, yes)
    press(page, "Space")
    expect(yes).to_be_checked()
    press(page, "Tab")
    expect(page.get_by_label("Your name")).to_be_focused()
    page.keyboard.type("Kim Keys")
    page.keyboard.press("Enter")
    expect_focus(page, page.get_by_role("heading", name="Check your camera and microphone"))
    join = page.get_by_role("button", name="Join the waiting room")
    expect(join).to_be_enabled(timeout=TIMEOUT_MS)
    tab_to(page, join)
    page.keyboard.press("Enter")
    expect_focus(page, page.get_by_role("heading", name="Waiting room"))
    expect(page.locator("#queue-text")).to_have_text(
        "You are number 1 in line.", timeout=TIMEOUT_MS
    )


def _intake_by_form(page: Page) -> None:
    """Answer "Before your visit" with the form: text, a unit picked with the arrow keys,
    checkboxes ticked with Space, radios chosen with the arrow keys, a list in a textarea."""
    section = page.get_by_role("region", name="Before your visit")
    tab_to(page, section.get_by_role("button", name="Use the form"))
    page.keyboard.press("Enter")
    form = page.locator("#intake-form-slot")
    expect_focus(page, form.locator("h4").first)

    tab_to(page, form.locator("#intake-reason"))
    page.keyboard.type("I have a sore throat")
    press(page, "Tab")
    expect(form.locator("#intake-onset")).to_be_focused()
    page.keyboard.type("2")
    press(page, "Tab")
    unit = form.locator("#intake-onset-unit")
    expect(unit).to_be_focused()
    press(page, "ArrowDown")  # days -> weeks
    expect(unit).to_have_value("weeks")
    press(page, "Tab")
    expect(form.locator("#intake-severity")).to_be_focused()
    page.keyboard.type("7")

    for symptom in ("fever", "cough"):
        box = form.locator(f'input[name="symptoms"][value="{symptom}"]')
        tab_to(page, box)
        press(page, "Space")
        expect(box).to_be_checked()

    tab_to(page, form.locator("#intake-age"))
    page.keyboard.type("34")
    female = form.locator('input[name="sex-at-birth"][value="female"]')
    tab_to(page, female)
    press(page, "ArrowDown")  # moves to "male" and chooses it
    expect(form.locator('input[name="sex-at-birth"][value="male"]')).to_be_checked()
    press(page, "ArrowUp")
    expect(female).to_be_checked()
    # Asked only now that the answers above make it apply; the first Tab lands on it.
    pregnant_yes = form.locator('input[name="pregnant"][value="yes"]')
    expect(pregnant_yes).to_be_visible()
    press(page, "Tab")
    expect(pregnant_yes).to_be_focused()
    press(page, "ArrowDown")
    expect(form.locator('input[name="pregnant"][value="no"]')).to_be_checked()

    tab_to(page, form.locator("#intake-conditions"))
    page.keyboard.type("asthma")
    press(page, "Tab")
    expect(form.locator("#intake-medications")).to_be_focused()
    page.keyboard.type("ibuprofen")
    press(page, "Enter")  # one medicine per line
    page.keyboard.type("metformin")
    press(page, "Tab")
    expect(form.locator("#intake-allergies")).to_be_focused()
    page.keyboard.type("penicillin")
    tab_to(page, form.get_by_role("button", name="Send my answers"))
    page.keyboard.press("Enter")
    done = page.locator("#intake-done")
    expect_focus(page, done)
    expect(done).to_have_text(THANKS)


def _check_stored_intake(server: Server, visit_id: str) -> None:
    with server.clinician_client() as client:
        response = client.get(f"/api/visits/{visit_id}/intake")
        response.raise_for_status()
    answers = answers_by_link_id(response.json())
    assert answers["reason"]["answer"] == [{"valueString": "I have a sore throat"}]
    onset = answers["onset"]["answer"][0]["valueQuantity"]
    assert (onset["value"], onset["code"]) == (2, "wk")
    assert answers["severity"]["answer"] == [{"valueInteger": 7}]
    assert {a["valueCoding"]["code"] for a in answers["symptoms"]["answer"]} == {"fever", "cough"}
    assert answers["age"]["answer"][0]["valueQuantity"]["value"] == 34
    assert answers["sex-at-birth"]["answer"][0]["valueCoding"]["code"] == "female"
    assert answers["pregnant"]["answer"] == [{"valueBoolean": False}]
    medications = [a["valueString"] for a in answers["medications"]["answer"]]
    assert medications == ["ibuprofen", "metformin"]
    allergies = [a["valueString"] for a in answers["allergies"]["answer"]]
    assert allergies == ["penicillin"]


def _mute_and_unmute(page: Page, clinician: VisitSocket) -> None:
    mute = page.get_by_role("button", name="Mute")
    status = page.get_by_role("status")
    since = clinician.mark()
    press(page, "Alt+M")
    expect(mute).to_have_attribute("aria-pressed", "true")
    expect(status).to_have_text("Your microphone is muted.")
    clinician.wait_for("media_state", lambda m: m["audio"] is False, since=since)
    assert_accessible(page, "join: in the call, muted")
    since = clinician.mark()
    press(page, "Alt+M")
    expect(mute).to_have_attribute("aria-pressed", "false")
    expect(status).to_have_text("Your microphone is on.")
    clinician.wait_for("media_state", lambda m: m["audio"] is True, since=since)


def _registry_shortcuts_in_the_call(page: Page) -> None:
    """The action registry's shortcuts: help, where am I, captions, end the call."""
    status = page.get_by_role("status")
    press(page, "Alt+H")
    expect_focus(page, page.locator("#commands-help summary"))
    table = page.get_by_role("table", name="Commands on this page")
    expect(table.get_by_role("row", name="End the call")).to_contain_text("Alt+X")
    expect(table).to_contain_text("“assistant, mute”")
    assert_accessible(page, "join: in the call with the commands help open")
    press(page, "Alt+W")
    expect(status).to_have_text("You are in the video call.")
    press(page, "Alt+C")
    expect(status).to_have_text("Captions are hidden.")
    expect(page.locator("#caption-show")).not_to_be_checked()
    press(page, "Alt+C")
    expect(status).to_have_text("Captions are shown.")
    # Ending the call asks once, in the page's own dialog; Escape stays in the call.
    press(page, "Alt+X")
    dialog = page.get_by_role("dialog", name="Leave the visit?")
    expect_focus(page, dialog.get_by_role("button", name="Stay"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="In your visit")).to_be_visible()


def _leave(page: Page) -> None:
    controls = page.get_by_role("group", name="Call controls")
    tab_to(page, controls.get_by_role("button", name="Leave the visit"))
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Leave the visit?")
    expect_focus(page, dialog.get_by_role("button", name="Stay"))
    assert_accessible(page, "join: leave dialog in the call")
    press(page, "Shift+Tab")
    expect(dialog.get_by_role("button", name="Leave")).to_be_focused()
    page.keyboard.press("Enter")
    expect_focus(page, page.get_by_role("heading", name="The visit has ended"))
    expect(page.locator("#ended-text")).to_have_text("You left the visit.")
