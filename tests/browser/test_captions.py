"""Live captions in Chromium, with real speech: the patient's fake microphone plays an
espeak-ng sentence, the server (embedded Whisper tiny.en) recognizes it through the
browser's assistant connection, and the clinician's page shows it; the transcript is stored
only with the patient's consent. axe-core on the consent step and the captioned call."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SENTENCE = "I have had a sore throat since Monday."
PATIENT_NAME = "Pat Example"
TIMEOUT_MS = 20_000
# From admission to the first final: connecting, up to one loop of the 6 s file, decoding.
CAPTION_TIMEOUT_MS = 45_000

# Everything added to the captions log, and every text the partials line showed, so the
# test can check that only finals ever reached the live region.
_RECORD_CAPTIONS = """
window.__captions = { log: [], partials: [] };
document.addEventListener("DOMContentLoaded", () => {
  const log = document.getElementById("caption-log");
  const partials = document.getElementById("caption-partials");
  if (!log || !partials) return;
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType === 1) {
          window.__captions.log.push({ text: node.textContent, segment: node.dataset.segmentId });
        }
      }
    }
  }).observe(log, { childList: true });
  new MutationObserver(() => {
    if (partials.textContent) window.__captions.partials.push(partials.textContent);
  }).observe(partials, { childList: true, subtree: true, characterData: true });
});
"""

# Every caption message the page's signaling client receives.
_RECORD_MESSAGES = """
() => {
  window.__captionMessages = [];
  window.__call.signaling.on("caption", (m) => window.__captionMessages.push(m));
}
"""

# True once a final caption line of `name` holds both key words of the sentence.
_CAPTION_SHOWN = """
(name) => [...document.querySelectorAll("#caption-log .caption")].some((line) => {
  const text = line.textContent.toLowerCase();
  return text.startsWith(name.toLowerCase() + ":") && text.includes("sore throat")
    && text.includes("monday");
})
"""


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The patient's sentence (1 s of silence, the words, 2 s of silence; 48 kHz mono s16)
    and 3 s of silence for the clinician's microphone."""
    folder = tmp_path_factory.mktemp("caption-sounds")
    spoken = folder / "spoken.wav"
    speech = folder / "speech.wav"
    silence = folder / "silence.wav"
    _run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(spoken), SENTENCE])
    _run(["sox", str(spoken), "-r", "48000", "-c", "1", "-b", "16", str(speech), "pad", "1", "2"])
    _run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(silence), "trim", "0", "3"])
    return {"speech": speech, "silence": silence}


def _launch(driver: Playwright, audio_file: Path) -> Browser:
    # The file loops: it starts playing when the device check opens the microphone, long
    # before the call (and the assistant connection) starts.
    return driver.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={audio_file}"],
    )


@pytest.fixture(scope="module")
def patient_browser(playwright_driver: Playwright, sounds: dict[str, Path]) -> Iterator[Browser]:
    chromium = _launch(playwright_driver, sounds["speech"])
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def clinician_browser(playwright_driver: Playwright, sounds: dict[str, Path]) -> Iterator[Browser]:
    chromium = _launch(playwright_driver, sounds["silence"])
    yield chromium
    chromium.close()


@pytest.fixture
def contexts(
    patient_browser: Browser, clinician_browser: Browser
) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    clinician_context = clinician_browser.new_context()
    patient_context = patient_browser.new_context()
    for context in (clinician_context, patient_context):
        context.add_init_script(_RECORD_CAPTIONS)
    # These patients read and type; voice guidance has a test of its own
    # (test_voice_journey.py), and its second recognizer would only share the cores.
    patient_context.add_init_script('localStorage.setItem("telehealth.voiceGuidance", "off")')
    yield clinician_context, patient_context
    clinician_context.close()
    patient_context.close()


def sign_in(page: Page, server: Server) -> None:
    page.goto(f"{server.base_url}/clinician")
    page.get_by_label("Email").fill(server.email)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Today's visits")


def open_call(
    server: Server, clinician: Page, patient: Page, *, consent: str, check_consent_step: bool
) -> str:
    """Clinician on the call page, patient through consent, name and device check,
    admitted; returns the visit id."""
    created = server.create_visit("Caption visit")
    visit_id: str = created["visit"]["id"]
    sign_in(clinician, server)
    clinician.goto(f"{server.base_url}/clinician/call?visit={visit_id}")
    expect(clinician.get_by_role("status")).to_contain_text("Nobody is waiting", timeout=TIMEOUT_MS)

    patient.goto(created["invite_url"])
    expect(patient.get_by_role("heading", name="Welcome")).to_be_visible()
    question = patient.get_by_role(
        "group", name="May we save the captions of this visit as a written record"
    )
    expect(question).to_be_visible()
    expect(question).to_contain_text("You can still see captions live either way.")
    if check_consent_step:
        # No answer is chosen for the patient, and joining waits for one.
        for answer in ("Yes", "No"):
            expect(question.get_by_role("radio", name=answer)).not_to_be_checked()
        expect(question.get_by_role("radio", name="Yes")).to_be_focused()
        assert_accessible(patient, "join: consent question")
        patient.get_by_label("Your name").fill(PATIENT_NAME)
        patient.get_by_role("button", name="Continue").click()
        error = patient.get_by_role("alert").filter(has_text="Choose Yes or No.")
        expect(error).to_be_visible()
        expect(question.get_by_role("radio", name="Yes")).to_be_focused()
        expect(patient.get_by_role("heading", name="Welcome")).to_be_visible()
        assert_accessible(patient, "join: consent not answered")
    question.get_by_role("radio", name=consent).check()
    expect(patient.locator("#consent-error")).to_be_hidden()
    patient.get_by_label("Your name").fill(PATIENT_NAME)
    patient.get_by_role("button", name="Continue").click()
    join = patient.get_by_role("button", name="Join the waiting room")
    expect(join).to_be_enabled(timeout=TIMEOUT_MS)
    join.click()
    clinician.get_by_role("button", name=f"Admit {PATIENT_NAME}").click(timeout=TIMEOUT_MS)
    expect(patient.get_by_role("heading", name="In your visit")).to_be_visible(timeout=TIMEOUT_MS)
    clinician.evaluate(_RECORD_MESSAGES)
    return visit_id


def transcript(server: Server, visit_id: str) -> dict[str, Any]:
    with server.clinician_client() as client:
        response = client.get(f"/api/transcripts/{visit_id}")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def has_key_words(text: str) -> bool:
    lowered = text.lower()
    return "sore throat" in lowered and "monday" in lowered


def wait_for_sentence(server: Server, visit_id: str, timeout_s: float) -> list[dict[str, Any]]:
    """The stored segments once they hold the sentence's key words (the recognizer may cut
    it into two segments), or whatever is stored when `timeout_s` has passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        segments: list[dict[str, Any]] = transcript(server, visit_id)["segments"]
        if has_key_words(" ".join(s["text"] for s in segments)) or time.monotonic() > deadline:
            return segments
        time.sleep(0.5)


def check_only_finals_in_log(page: Page) -> None:
    """Each line the live region ever got is a final caption; partials were drawn apart."""
    # Whisper sends partials while the sentence is spoken (on a busy machine it may skip
    # them for an utterance; the file loops, so the next one brings them).
    page.wait_for_function(
        "() => window.__captionMessages.some((m) => !m.final)", timeout=CAPTION_TIMEOUT_MS
    )
    recorded: dict[str, Any] = page.evaluate("window.__captions")
    messages: list[dict[str, Any]] = page.evaluate("window.__captionMessages")
    finals = {m["segment_id"]: m for m in messages if m["final"]}
    assert recorded["log"], "nothing reached the captions log"
    for line in recorded["log"]:
        final = finals.get(line["segment"])
        assert final is not None, f"a log line that is not a final caption: {line}"
        assert line["text"] == f"{final['speaker_name']}: {final['text'].strip()}"
    assert recorded["partials"], "partial captions were not shown"
    assert all(text.endswith("…") for text in recorded["partials"])
    expect(page.locator("#caption-partials")).to_have_attribute("aria-hidden", "true")
    assert page.locator("#caption-log .partial").count() == 0


def test_captions_are_shown_and_stored_with_consent(
    speech_server: Server, contexts: tuple[BrowserContext, BrowserContext]
) -> None:
    clinician_context, patient_context = contexts
    clinician = clinician_context.new_page()
    patient = patient_context.new_page()
    visit_id = open_call(speech_server, clinician, patient, consent="Yes", check_consent_step=True)

    # The clinician reads the patient's sentence; the consent shows beside the captions.
    log = clinician.get_by_role("log", name="Captions")
    expect(log).to_have_attribute("aria-live", "polite")
    clinician.wait_for_function(_CAPTION_SHOWN, arg=PATIENT_NAME, timeout=CAPTION_TIMEOUT_MS)
    expect(clinician.locator("#consent-state")).to_have_text("Transcript: saved with consent")
    expect(clinician.locator("#speech-note")).to_have_text("Your speech is captioned in English.")
    # The patient sees their own words as "You".
    patient.wait_for_function(_CAPTION_SHOWN, arg="You", timeout=TIMEOUT_MS)
    expect(patient.locator("#speech-note")).to_have_text("Your speech is captioned in English.")
    check_only_finals_in_log(clinician)
    assert_accessible(clinician, "clinician call: captions")
    assert_accessible(patient, "join: in call with captions")

    # The final segment is in the stored transcript, attributed to the patient.
    segments = wait_for_sentence(speech_server, visit_id, timeout_s=10)
    assert has_key_words(" ".join(s["text"] for s in segments)), segments
    segment = next(s for s in segments if "sore throat" in s["text"].lower())
    assert segment["speaker_role"] == "patient"
    assert segment["speaker_name"] == PATIENT_NAME
    assert (segment["engine"], segment["language"]) == ("whisper", "en")
    assert segment["end_s"] > segment["start_s"] >= 0
    shown = clinician.locator("#caption-log .caption", has_text=segment["text"].strip())
    expect(shown.first).to_be_visible()

    # The viewer's caption settings apply at once and are remembered.
    clinician.get_by_text("Caption settings", exact=True).click()
    clinician.get_by_label("Caption text size").select_option("largest")
    clinician.get_by_label("High-contrast captions").check()
    clinician.get_by_label("Caption position").select_option("below")
    panel = clinician.locator("#captions-panel")
    expect(clinician.locator("#captions-below #captions-panel")).to_have_count(1)
    expect(clinician.get_by_label("Caption position")).to_be_focused()
    expect(panel).to_have_class(re.compile(r"\bcaption-size-largest\b"))
    expect(panel).to_have_class(re.compile(r"\bcaption-contrast\b"))
    size = float(
        clinician.locator("#caption-view").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    )
    assert size == 32.0
    assert_accessible(clinician, "clinician call: caption settings, high contrast, below")
    clinician.get_by_label("Show captions").uncheck()
    expect(clinician.locator("#caption-view")).to_be_hidden()
    expect(clinician.locator("#captions-hidden-note")).to_be_visible()
    stored = clinician.evaluate(
        "() => Object.fromEntries(Object.keys(localStorage)"
        ".filter((k) => k.startsWith('telehealth.captions.'))"
        ".map((k) => [k.slice(20), localStorage.getItem(k)]))"
    )
    assert stored == {"size": "largest", "contrast": "1", "position": "below", "show": "0"}
    # After a reload (back into the same call) the page starts with those settings.
    clinician.reload()
    expect(clinician.locator("#captions-below #captions-panel")).to_have_count(1)
    expect(panel).to_have_class(re.compile(r"\bcaption-size-largest\b"))
    expect(panel).to_have_class(re.compile(r"\bcaption-contrast\b"))
    expect(clinician.locator("#caption-view")).to_be_hidden()
    expect(clinician.get_by_label("Show captions")).not_to_be_checked()


def test_captions_without_consent_are_live_but_not_stored(
    speech_server: Server, contexts: tuple[BrowserContext, BrowserContext]
) -> None:
    clinician_context, patient_context = contexts
    clinician = clinician_context.new_page()
    patient = patient_context.new_page()
    visit_id = open_call(speech_server, clinician, patient, consent="No", check_consent_step=False)

    clinician.wait_for_function(_CAPTION_SHOWN, arg=PATIENT_NAME, timeout=CAPTION_TIMEOUT_MS)
    expect(clinician.locator("#consent-state")).to_have_text(
        "Transcript: not saved (the patient said no)"
    )
    with speech_server.clinician_client() as client:
        consent = client.get(f"/api/visits/{visit_id}/consent").json()
    assert (consent["state"], consent["transcript"]) == ("declined", False)
    # The final is stored (or not) right after it is published; give the write a moment.
    time.sleep(1.5)
    assert transcript(speech_server, visit_id)["segments"] == []

    # The patient changes their mind in the call view: later captions are stored.
    patient.get_by_text("Caption settings", exact=True).click()
    patient.get_by_role("radio", name="Yes, save them").check()
    expect(patient.get_by_role("status")).to_have_text(
        "From now on the captions are saved as a written record for your clinician."
    )

    # A language without a model: the page says so and the clinician's speech is not sent.
    clinician.get_by_text("Caption settings", exact=True).click()
    clinician.get_by_label("Language you speak").select_option("fr")
    message = "No speech model for French is installed; captions are off for your speech."
    expect(clinician.locator("#speech-note")).to_have_text(message, timeout=TIMEOUT_MS)
    expect(clinician.get_by_role("status")).to_have_text(message)
    assert_accessible(clinician, "clinician call: no model for the chosen language")

    segments = wait_for_sentence(speech_server, visit_id, timeout_s=CAPTION_TIMEOUT_MS / 1000)
    assert has_key_words(" ".join(s["text"] for s in segments)), [s["text"] for s in segments]
    assert {s["speaker_role"] for s in segments} == {"patient"}
    expect(clinician.locator("#consent-state")).to_have_text(
        "Transcript: saved with consent", timeout=TIMEOUT_MS
    )


def test_speech_server_reports_whisper(speech_server: Server) -> None:
    """The speech server (and so every caption test) runs the embedded English Whisper model;
    the fixture waits for the model, so this holds alone or after the other tests."""
    ready = httpx.get(f"{speech_server.base_url}/readyz", timeout=5).json()
    assert ready["speech"]["active"]["engine"] == "whisper"
    assert ready["speech"]["active"]["language"] == "en"
