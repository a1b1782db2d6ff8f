"""A patient completes a visit by voice alone, in Chromium: join -> consent -> name ->
device check -> waiting room -> symptom questions -> call -> mute -> end the call.

No click and no key press on the patient's page. The patient "speaks" espeak-ng speech
into the page's microphone (an init script makes getUserMedia's audio a Web Audio stream
the test plays into), and it reaches the server's speech assistant over real WebRTC; the
server (embedded Whisper tiny.en) recognizes it, and speaks every prompt back. The test
listens the way a patient does: it answers only after a prompt has finished playing
("spoken" on the assistant's data channel), and checks that the prompts carried sound.
Only the clinician clicks ("Admit").
"""

from __future__ import annotations

import base64
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
from tests.browser.test_captions import sign_in
from tests.telehealth.intake_app.sample import (
    FORM_ANSWERS,
    SPOKEN,
    answers_by_link_id,
    without_identity,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PATIENT_NAME = "Anna Smith"
PROMPT_TIMEOUT_S = 60.0
TIMEOUT_MS = 30_000
# Through the browser (Web Audio, Opus), Whisper tiny.en hears espeak-ng's "My throat is
# sore" as "My floating source": this patient says it another way, and checks the read-back.
REPLIES = {**SPOKEN, "reason": ("I have a sore throat.", ["throat"])}

# The patient's microphone is a Web Audio stream; `__speak(base64 wav)` plays into it.
# Every message on an "assistant" data channel is recorded, and every peer connection
# kept, so the test can hear what was said and measure the audio received.
_VOICE_PATIENT = """
(() => {
  localStorage.setItem("telehealth.voice", JSON.stringify({ rate_wpm: 320 }));
  let context = null;
  let mouth = null;
  const open = () => {
    if (!context) {
      context = new AudioContext({ sampleRate: 48000 });
      mouth = context.createMediaStreamDestination();
    }
    return mouth;
  };
  window.__speak = async (wav) => {
    open();
    await context.resume();
    const bytes = Uint8Array.from(atob(wav), (c) => c.charCodeAt(0));
    const buffer = await context.decodeAudioData(bytes.buffer);
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(mouth);
    const ended = new Promise((resolve) => { source.onended = resolve; });
    source.start();
    await ended;
    return buffer.duration;
  };
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const real = await original(constraints);
    const stream = new MediaStream(real.getVideoTracks());
    for (const track of real.getAudioTracks()) track.stop();
    const voice = open().stream.getAudioTracks()[0];
    if (constraints && constraints.audio) stream.addTrack(voice.clone());
    return stream;
  };
  window.__assistant = [];
  window.__pcs = [];
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
  const create = Native.prototype.createDataChannel;
  Native.prototype.createDataChannel = function (label, options) {
    const channel = create.call(this, label, options);
    if (label === "assistant") {
      // The test hears like the patient: it asks for the end of each prompt (and what the
      // server heard, for the failure message), which the page itself does not read.
      channel.addEventListener("open", () => {
        channel.send(JSON.stringify({ type: "subscribe", events: ["spoken", "final"] }));
      });
      channel.addEventListener("message", (event) => {
        try { window.__assistant.push(JSON.parse(event.data)); } catch {}
      });
    }
    return channel;
  };
})();
"""

# The audio energy received from the assistant so far (all its connections).
_RECEIVED_ENERGY = """
async () => {
  let energy = 0;
  for (const pc of window.__pcs) {
    if (pc.connectionState === "closed") continue;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") energy += s.totalAudioEnergy || 0;
    });
  }
  return energy;
}
"""


@pytest.fixture(scope="module")
def voice_browser(playwright_driver: Playwright) -> Iterator[Browser]:
    # Prompts play, and the Web Audio microphone runs, without a click.
    chromium = playwright_driver.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
    )
    yield chromium
    chromium.close()


@pytest.fixture
def contexts(voice_browser: Browser) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    clinician = voice_browser.new_context()
    patient = voice_browser.new_context()
    patient.add_init_script(_VOICE_PATIENT)
    yield clinician, patient
    patient.close()
    clinician.close()


class Patient:
    """The patient: hears the assistant's prompts and answers with synthesized speech."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.seen = 0  # messages already looked at
        self.prompts: list[str] = []

    def messages(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.page.evaluate("window.__assistant")
        return found

    def hear(self, words: str, timeout_s: float = PROMPT_TIMEOUT_S) -> str:
        """Wait until a prompt containing `words` has finished playing; returns it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            messages = self.messages()
            for index in range(self.seen, len(messages)):
                message = messages[index]
                if message["type"] == "spoken" and words.lower() in message["text"].lower():
                    self.seen = index + 1
                    self.prompts.append(message["text"])
                    return str(message["text"])
            time.sleep(0.2)
        said = [m.get("text") for m in self.messages() if m["type"] in ("spoken", "final")]
        raise AssertionError(f"never heard {words!r}; the assistant said/heard {said}")

    def next_turn(self, timeout_s: float = PROMPT_TIMEOUT_S) -> dict[str, Any]:
        """The next question of the symptom dialogue (an `intake_turn`)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            messages = self.messages()
            for index in range(self.seen, len(messages)):
                if messages[index]["type"] == "intake_turn":
                    self.seen = index + 1
                    return messages[index]
            time.sleep(0.2)
        raise AssertionError(f"no next question; prompts so far: {self.prompts}")

    def say(self, text: str) -> None:
        wav = self.folder / "said.wav"
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav), text], check=True, timeout=30)
        encoded = base64.b64encode(wav.read_bytes()).decode()
        self.page.evaluate("(wav) => window.__speak(wav)", encoded)

    def answer(self, words: str, reply: str) -> str:
        prompt = self.hear(words)
        self.say(reply)
        return prompt


def answer_intake(patient: Patient) -> None:
    """Answer the symptom questions as tests/telehealth/test_voice_intake.py does."""
    expected: list[str] = []
    for _ in range(40):
        turn = patient.next_turn()
        if turn["done"]:
            return
        stage = turn["stage"]
        if stage == "question":
            reply, expected = REPLIES[turn["link_id"]]
        elif stage == "confirm":
            reply = "yes" if all(w in turn["prompt"].lower() for w in expected) else "no"
        elif stage == "summary":
            reply = "yes"
        else:
            raise AssertionError(f"unexpected turn: {turn}")
        patient.answer(turn["prompt"][-40:], reply)
    raise AssertionError("the symptom questions did not end")


def test_a_patient_completes_the_visit_by_voice_alone(
    speech_server: Server,
    contexts: tuple[BrowserContext, BrowserContext],
    tmp_path: Path,
) -> None:
    clinician_context, patient_context = contexts
    created = speech_server.create_visit("Voice-only visit")
    visit_id: str = created["visit"]["id"]
    clinician = clinician_context.new_page()
    sign_in(clinician, speech_server)
    clinician.goto(f"{speech_server.base_url}/clinician/call?visit={visit_id}")

    page = patient_context.new_page()
    page.goto(created["invite_url"])
    patient = Patient(page, tmp_path)
    energy_before = float(page.evaluate(_RECEIVED_ENERGY))

    # Check-in: consent, then the name, read back and confirmed.
    patient.answer("please say yes or no", "Yes.")
    expect(page.get_by_role("radio", name="Yes")).to_be_checked(timeout=TIMEOUT_MS)
    assert float(page.evaluate(_RECEIVED_ENERGY)) > energy_before, "the prompt had no sound"
    for _ in range(3):
        patient.answer("please say your name", f"My name is {PATIENT_NAME}.")
        heard = patient.hear("is that right")
        if PATIENT_NAME.lower() in heard.lower():
            patient.say("Yes.")
            break
        patient.say("No.")
    else:
        raise AssertionError(f"the name was never heard right: {patient.prompts}")

    # The device check, then the waiting room.
    patient.answer("say 'check in'", "Check in.")
    expect(page.get_by_role("heading", name="Waiting room")).to_be_visible(timeout=TIMEOUT_MS)
    # Help by voice: spoken, and the same commands shown in the page's help table.
    patient.answer("start symptom check", "What can I say?")
    patient.hear("you can say")
    help_table = page.get_by_role("table", name="Commands on this page")
    expect(help_table).to_be_visible(timeout=TIMEOUT_MS)
    expect(help_table).to_contain_text("Start the symptom questions")
    assert_accessible(page, "join: waiting room with the commands help open")
    patient.say("Start symptom check.")
    expect(page.locator("#intake-voice")).to_be_visible(timeout=TIMEOUT_MS)
    assert_accessible(page, "join: symptom questions by voice")
    answer_intake(patient)
    expect(page.locator("#intake-done")).to_be_visible(timeout=TIMEOUT_MS)
    assert_accessible(page, "join: waiting room after the voice intake")

    # The clinician admits; in the call, commands start with the wake phrase.
    clinician.get_by_role("button", name=f"Admit {PATIENT_NAME}").click(timeout=TIMEOUT_MS)
    expect(page.get_by_role("heading", name="In your visit")).to_be_visible(timeout=TIMEOUT_MS)
    patient.answer("start with 'assistant'", "Assistant, mute.")
    expect(page.locator("#mute")).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT_MS)
    assert page.evaluate("window.__call.call.localStream.getAudioTracks()[0].enabled") is False
    patient.answer("your microphone is muted", "Assistant, end the call.")
    patient.answer("are you sure", "Yes.")
    expect(page.get_by_role("heading", name="The visit has ended")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(page.locator("#ended-text")).to_have_text("You left the visit.")

    # What was stored: the same intake as the form gives for the same answers.
    with speech_server.clinician_client() as client:
        by_voice = client.get(f"/api/visits/{visit_id}/intake").json()
        assert client.get(f"/api/visits/{visit_id}").json()["status"] in ("in_call", "ended")
    assert by_voice["status"] == "completed"
    reason = answers_by_link_id(by_voice)["reason"]["answer"][0]["valueString"]
    assert "throat" in reason.lower()
    # Free-text answers are compared as heard: what Whisper makes of drug names is the
    # accuracy benchmark's to measure (benchmarks/wer.py, issue #17), not this journey's.
    medications = [
        str(next(iter(answer.values())))
        for answer in answers_by_link_id(by_voice)["medications"]["answer"]
    ]
    assert medications, "no medicine was heard"
    heard = {"reason": reason, "medications": medications}
    by_form = intake_by_form(speech_server, {**FORM_ANSWERS, **heard})
    # Which answers differ, if any (the test's own sample answers): to tell a misheard
    # answer from a lost one when this fails.
    voice_answers, form_answers = answers_by_link_id(by_voice), answers_by_link_id(by_form)
    differing = {
        link: (voice_answers.get(link), form_answers.get(link))
        for link in sorted(set(voice_answers) | set(form_answers))
        if voice_answers.get(link) != form_answers.get(link)
    }
    assert without_identity(by_voice) == without_identity(by_form), (differing, patient.prompts)
    with speech_server.clinician_client() as client:
        consent = client.get(f"/api/visits/{visit_id}/consent").json()
    assert consent["transcript"] is True, consent


def intake_by_form(server: Server, answers: dict[str, Any]) -> dict[str, Any]:
    """The stored response of another visit whose patient typed `answers` into the form."""
    created = server.create_visit("Form twin")
    invite = created["invite_url"].split("#invite=", 1)[1]
    with httpx.Client(base_url=server.base_url, timeout=10) as patient:
        opened = patient.post(
            "/api/patient/session", json={"invite": invite, "display_name": "Twin"}
        )
        opened.raise_for_status()
        patient.post("/api/patient/intake/form", json={"answers": answers}).raise_for_status()
    with server.clinician_client() as client:
        stored: dict[str, Any] = client.get(f"/api/visits/{created['visit']['id']}/intake").json()
    return stored
