"""The symptom intake in the patient's waiting room, in Chromium: the keyboard form sent to
the real server, the thank-you (also after a reload), the clinician's FHIR
QuestionnaireResponse, and the emergency alert of a red flag; axe-core on every state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Server
from tests.browser.test_patient_join import open_invite
from tests.telehealth.intake_app.sample import FORM_ANSWERS, answers_by_link_id

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
THANKS = "Thank you, your answers were sent."


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    created = browser.new_context()
    yield created
    created.close()


def wait_in_waiting_room(page: Page) -> None:
    page.get_by_role("button", name="Join the waiting room").click(timeout=TIMEOUT_MS)
    expect(page.locator("#queue-text")).to_have_text(
        "You are number 1 in line.", timeout=TIMEOUT_MS
    )


def open_form(page: Page) -> None:
    section = page.get_by_role("region", name="Before your visit")
    expect(section).to_contain_text("Answer a few questions about why you came")
    expect(section.get_by_role("button", name="Answer by voice")).to_be_visible()
    section.get_by_role("button", name="Use the form").click()
    # Focus moves to the form's heading (the questionnaire's title).
    expect(page.locator("#intake-form-slot h4").first).to_be_focused()


def fill_sample_answers(page: Page) -> None:
    """Type FORM_ANSWERS into the form as a patient would."""
    form = page.locator("#intake-form-slot")
    form.locator("#intake-reason").fill(str(FORM_ANSWERS["reason"]))
    number, unit = str(FORM_ANSWERS["onset"]).split()
    form.locator("#intake-onset").fill(number)
    form.locator("#intake-onset-unit").select_option(unit)
    form.locator("#intake-severity").fill(str(FORM_ANSWERS["severity"]))
    for symptom in FORM_ANSWERS["symptoms"]:
        form.locator(f'input[name="symptoms"][value="{symptom}"]').check()
    form.locator("#intake-age").fill(str(FORM_ANSWERS["age"]))
    form.locator(f'input[name="sex-at-birth"][value="{FORM_ANSWERS["sex-at-birth"]}"]').check()
    # Asked only now that the answer above makes it apply.
    pregnant = form.locator(f'input[name="pregnant"][value="{FORM_ANSWERS["pregnant"]}"]')
    expect(pregnant).to_be_visible()
    pregnant.check()
    form.locator("#intake-conditions").fill(str(FORM_ANSWERS["conditions"]))
    form.locator("#intake-medications").fill("\n".join(FORM_ANSWERS["medications"]))
    form.locator("#intake-allergies").fill(str(FORM_ANSWERS["allergies"]))


def test_the_form_in_the_waiting_room_reaches_the_clinician(
    context: BrowserContext, server: Server
) -> None:
    created = server.create_visit("Intake form visit")
    visit_id = created["visit"]["id"]
    page = context.new_page()
    open_invite(page, created["invite_url"], "Ines Take")
    wait_in_waiting_room(page)
    open_form(page)
    fill_sample_answers(page)
    assert_accessible(page, "join: intake form open")

    page.get_by_role("button", name="Send my answers").click()
    done = page.locator("#intake-done")
    expect(done).to_have_text(THANKS, timeout=TIMEOUT_MS)
    expect(done).to_be_focused()
    expect(page.locator("#intake-form-slot")).to_be_hidden()
    expect(page.get_by_role("button", name="Use the form")).to_be_hidden()
    expect(page.locator("#intake-alert")).to_be_hidden()  # severity 7 is no red flag
    assert_accessible(page, "join: intake sent")

    with server.clinician_client() as client:
        response = client.get(f"/api/visits/{visit_id}/intake")
        assert response.status_code == 200
        stored = response.json()
    assert stored["resourceType"] == "QuestionnaireResponse"
    assert stored["status"] == "completed"
    answers = answers_by_link_id(stored)
    assert answers["reason"]["answer"] == [{"valueString": "I have a sore throat"}]
    assert answers["severity"]["answer"] == [{"valueInteger": 7}]
    onset = answers["onset"]["answer"][0]["valueQuantity"]
    assert (onset["value"], onset["code"]) == (3, "d")
    assert {a["valueCoding"]["code"] for a in answers["symptoms"]["answer"]} == {"cough", "fever"}
    assert answers["age"]["answer"][0]["valueQuantity"]["value"] == 34
    assert answers["sex-at-birth"]["answer"][0]["valueCoding"]["code"] == "female"
    assert answers["pregnant"]["answer"] == [{"valueBoolean": False}]
    medications = [a["valueString"] for a in answers["medications"]["answer"]]
    assert medications == ["ibuprofen", "metformin"]

    # Back after a reload: the server says the intake is completed, so no questions again.
    page.reload()
    wait_in_waiting_room(page)
    expect(page.locator("#intake-done")).to_have_text(THANKS)
    expect(page.get_by_role("button", name="Use the form")).to_be_hidden()
    expect(page.get_by_role("button", name="Answer by voice")).to_be_hidden()


def test_a_red_flag_shows_the_emergency_alert_at_once(
    context: BrowserContext, server: Server
) -> None:
    page = context.new_page()
    open_invite(page, server.create_visit("Intake red flag")["invite_url"], "Uri Gent")
    wait_in_waiting_room(page)
    # Speech is off on this server: the voice path says so and offers the keyboard.
    page.get_by_role("button", name="Answer by voice").click()
    expect(page.get_by_role("heading", name="Answering by voice")).to_be_focused()
    prompt = page.locator("#intake-prompt")
    expect(prompt).to_have_attribute("role", "status")
    expect(prompt).to_contain_text("speech is off on this server", timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Type instead").click()
    expect(page.locator("#intake-form-slot h4").first).to_be_focused()
    expect(page.locator("#intake-voice")).to_be_hidden()
    page.locator("#intake-reason").fill("Terrible pain in my back")
    page.locator("#intake-severity").fill("10")
    page.get_by_role("button", name="Send my answers").click()

    alert = page.get_by_role("alert").filter(has_text="emergency")
    expect(alert).to_be_visible(timeout=TIMEOUT_MS)
    expect(alert).to_contain_text("Please call your local emergency number now.")
    expect(alert).to_be_focused()
    expect(page.locator("#intake-done")).to_have_text(THANKS)
    assert_accessible(page, "join: intake emergency alert")
