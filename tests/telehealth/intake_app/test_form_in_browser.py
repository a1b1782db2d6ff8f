"""The intake form module in Chromium, against the real API: building the form from the
questionnaire, enableWhen live, client and server errors with their summary, a stored
response, and axe-core on each state.

Playwright's async API inside the test's own event loop (and the in-process server), so
no Playwright loop outlives this test to disturb the asyncio tests that follow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, async_playwright, expect

from tests.browser.axe import WCAG_TAGS, axe_source
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import make_settings
from tests.telehealth.live_server import free_port, live_server

from .conftest import ADA, PASSWORD, add_clinicians

pytestmark = pytest.mark.browser

# The form is a module for the patient page; here it goes into the plain home page.
MOUNT = """
async () => {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/static/css/intake.css";
  document.head.append(link);
  document.querySelector("main").innerHTML =
    '<h1>Your video visit</h1><div id="intake"></div><p id="result"></p>';
  const module = await import("/static/js/intake-form.js");
  const questionnaire = await module.fetchIntakeQuestionnaire();
  module.renderIntakeForm(document.getElementById("intake"), questionnaire, {
    onSubmit: async (answers) => {
      const result = await module.submitIntakeAnswers(answers);
      document.getElementById("result").textContent = JSON.stringify(result);
      return result;
    },
  });
}
"""
RUN_AXE = """
async (tags) => {
  const results = await axe.run(document, { runOnly: { type: "tag", values: tags } });
  return results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(" ")}`);
}
"""


@dataclass
class PatientPage:
    page: Page
    visit_id: str
    base: str


async def assert_accessible(page: Page, state: str) -> None:
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # Over DevTools, not as a <script> tag: the pages' CSP forbids inline script.
        await page.evaluate(axe_source())
    violations: list[Any] = await page.evaluate(RUN_AXE, WCAG_TAGS)
    assert violations == [], f"axe found violations in state '{state}'"


@pytest_asyncio.fixture
async def patient_page(tmp_path: Path) -> AsyncIterator[PatientPage]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(tmp_path, port=port, public_base_url=base)
    async with (
        live_server(settings) as app,
        httpx.AsyncClient(base_url=base) as clinician,
        httpx.AsyncClient(base_url=base) as patient,
        async_playwright() as driver,
    ):
        await add_clinicians(app)
        await clinician.post("/api/auth/login", json={"email": ADA, "password": PASSWORD})
        created = (await clinician.post("/api/visits", json={"scheduled_at": _now()})).json()
        invite = created["invite_url"].split("#invite=")[1]
        opened = await patient.post(
            "/api/patient/session", json={"invite": invite, "display_name": "Jo"}
        )
        browser = await driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context()
            await context.add_cookies(
                [{"name": "th_patient", "value": opened.cookies["th_patient"], "url": base}]
            )
            page = await context.new_page()
            await page.goto(base + "/")
            await page.evaluate(MOUNT)
            yield PatientPage(page, created["visit"]["id"], base)
            await context.close()
        finally:
            await browser.close()


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


@pytest.mark.asyncio
async def test_the_form_guides_the_patient_to_a_stored_response(
    patient_page: PatientPage,
) -> None:
    page = patient_page.page
    await expect(
        page.get_by_role("heading", name="Symptom intake before a video visit")
    ).to_be_visible()
    pregnant = page.get_by_role("group", name="Could you be pregnant?")
    await expect(pregnant).to_be_hidden()
    await expect(page.locator("#intake")).not_to_contain_text("null")
    await assert_accessible(page, "intake form: empty")

    # enableWhen, live: female and 34 years asks about pregnancy; male does not.
    age = page.get_by_role("group", name="How old are you?", exact=False)
    await age.get_by_label("Number").fill("34")
    sex = page.get_by_role("group", name="What sex were you assigned at birth", exact=False)
    await sex.get_by_label("Female").check()
    await expect(pregnant).to_be_visible()
    await sex.get_by_label("Male", exact=True).check()
    await expect(pregnant).to_be_hidden()
    await sex.get_by_label("Female").check()
    await age.get_by_label("Unit").select_option("months")  # 34 months is a small child
    await expect(pregnant).to_be_hidden()
    await age.get_by_label("Unit").select_option("years")
    await expect(pregnant).to_be_visible()

    # Nothing typed for the one required question: the summary takes the focus.
    send = page.get_by_role("button", name="Send my answers")
    await send.click()
    summary = page.locator(".intake-error-summary")
    await expect(summary).to_be_focused()
    await expect(summary.get_by_role("link")).to_have_text(
        ["Reason for visit: Please answer this question."]
    )
    reason = page.get_by_label("In a few words, what is the main reason", exact=False)
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await expect(reason).to_have_accessible_description("Error: Please answer this question.")
    await assert_accessible(page, "intake form: required answer missing")

    # The server's parsers find the rest: a severity out of range.
    await reason.fill("a sore throat")
    severity = page.get_by_label("On a scale from 0 to 10", exact=False)
    await severity.fill("eleven")
    await send.click()
    await expect(summary.get_by_role("link")).to_have_text(
        ["Severity: This value is outside the allowed range."]
    )
    await expect(summary).to_be_focused()
    await expect(reason).not_to_have_attribute("aria-invalid", "true")
    await expect(severity).to_have_accessible_description(
        "A whole number from 0 to 10. Error: This value is outside the allowed range."
    )
    await summary.get_by_role("link").click()
    await expect(severity).to_be_focused()
    await assert_accessible(page, "intake form: server error")

    await severity.fill("7")
    symptoms = page.get_by_role("group", name="Do you have any of these", exact=False)
    await symptoms.get_by_label("Fever").check()
    await symptoms.get_by_label("None of these").check()  # clears fever
    await expect(symptoms.get_by_label("Fever")).not_to_be_checked()
    await symptoms.get_by_label("Cough").check()  # clears none
    await expect(symptoms.get_by_label("None of these")).not_to_be_checked()
    await pregnant.get_by_label("No").check()
    medicines = page.get_by_label("Which medicines do you take", exact=False)
    await medicines.fill("ibuprofen\nmetformin")
    await send.click()
    await expect(page.get_by_role("status")).to_have_text("Your answers were sent.")
    await expect(summary).to_be_hidden()

    async with httpx.AsyncClient(base_url=patient_page.base) as clinician:
        await clinician.post("/api/auth/login", json={"email": ADA, "password": PASSWORD})
        stored = (await clinician.get(f"/api/visits/{patient_page.visit_id}/intake")).json()
    by_id = {i["linkId"]: i for group in stored["item"] for i in group["item"]}
    assert by_id["reason"]["answer"] == [{"valueString": "a sore throat"}]
    assert by_id["severity"]["answer"] == [{"valueInteger": 7}]
    assert [a["valueCoding"]["code"] for a in by_id["symptoms"]["answer"]] == ["cough"]
    assert by_id["age"]["answer"][0]["valueQuantity"]["value"] == 34
    assert by_id["pregnant"]["answer"] == [{"valueBoolean": False}]
    assert [a["valueString"] for a in by_id["medications"]["answer"]] == ["ibuprofen", "metformin"]
    assert "conditions" not in by_id  # left empty: not answered
