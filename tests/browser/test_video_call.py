"""A whole video visit in two Chromium contexts: sign in, invite, device check, waiting
room, admission, WebRTC media both ways, chat both ways, ending the call."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import Server

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000

# What a page's peer connection receives: kinds of the remote tracks and the size of
# the remote video as decoded by the <video> element.
_REMOTE_MEDIA = """
() => {
  const call = window.__call;
  const stream = call && call.remoteStream;
  const tile = document.querySelector("#remote-tiles video");
  return {
    state: call && call.pc ? call.pc.connectionState : null,
    kinds: stream ? stream.getTracks().map((t) => t.kind).sort() : [],
    live: stream ? stream.getTracks().every((t) => t.readyState === "live") : false,
    width: tile ? tile.videoWidth : 0,
    height: tile ? tile.videoHeight : 0,
  };
}
"""

_MEDIA_FLOWING = """
() => {
  const call = window.__call;
  const tile = document.querySelector("#remote-tiles video");
  return !!(call && call.pc && call.pc.connectionState === "connected" && tile
            && tile.videoWidth > 0 && call.remoteStream.getTracks().length === 2);
}
"""


# Records every text the role="status" region shows, so quick successive announcements
# ("Reconnecting…" then "Reconnected.") can all be checked.
_RECORD_ANNOUNCEMENTS = """
window.__announcements = [];
document.addEventListener("DOMContentLoaded", () => {
  const region = document.getElementById("status");
  new MutationObserver(() => {
    if (region.textContent) window.__announcements.push(region.textContent);
  }).observe(region, { childList: true, characterData: true, subtree: true });
});
"""


def announcements(page: Page) -> list[str]:
    texts: list[str] = page.evaluate("window.__announcements")
    return texts


def sign_in(page: Page, server: Server) -> None:
    page.goto(f"{server.base_url}/clinician")
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinician sign in")
    page.get_by_label("Email").fill(server.email)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Today's visits")


def remote_media(page: Page) -> dict[str, Any]:
    page.wait_for_function(_MEDIA_FLOWING, timeout=TIMEOUT_MS)
    media: dict[str, Any] = page.evaluate(_REMOTE_MEDIA)
    return media


def test_video_visit_from_invite_to_end(browser: Browser, server: Server) -> None:
    created = server.create_visit("R.L. booking 1042")
    visit_id = created["visit"]["id"]
    invite_url = created["invite_url"]
    assert re.fullmatch(rf"{re.escape(server.base_url)}/join#invite=\S+", invite_url)

    clinician_context = browser.new_context()
    patient_context = browser.new_context()
    for context in (clinician_context, patient_context):
        context.add_init_script(_RECORD_ANNOUNCEMENTS)
    # The patient's websockets pass through Playwright, so the test can cut one.
    patient_sockets: list[WebSocketRoute] = []

    def through_playwright(route: WebSocketRoute) -> None:
        patient_sockets.append(route)
        route.connect_to_server()

    try:
        # The clinician signs in; the dashboard lists the visit with a "Join visit" link.
        dashboard = clinician_context.new_page()
        sign_in(dashboard, server)
        row = dashboard.locator(f'tr[data-visit-id="{visit_id}"]')
        expect(row).to_contain_text("R.L. booking 1042")
        expect(row).to_contain_text("Scheduled")
        assert_accessible(dashboard, "dashboard")

        # The clinician opens the call page from the dashboard (in a second tab, so the
        # dashboard keeps polling and can show the patient waiting).
        clinician = clinician_context.new_page()
        clinician.goto(dashboard.url)
        join_link = clinician.locator(f'tr[data-visit-id="{visit_id}"]').get_by_role(
            "link", name=re.compile(r"^Join visit")
        )
        join_link.click()
        expect(clinician).to_have_url(re.compile(rf"/clinician/call\?visit={visit_id}$"))
        expect(clinician.get_by_role("status")).to_contain_text(
            "Nobody is waiting", timeout=TIMEOUT_MS
        )
        expect(clinician.locator("#waiting-empty")).to_be_visible()

        # The patient opens the invite; the token leaves the address bar at once.
        patient = patient_context.new_page()
        patient.route_web_socket(re.compile(r"/ws/visits/"), through_playwright)
        patient.goto(invite_url)
        expect(patient.get_by_role("heading", name="Welcome")).to_be_visible()
        expect(patient).not_to_have_url(re.compile("invite"))
        assert patient.evaluate("location.hash") == ""
        assert_accessible(patient, "join: name")
        patient.get_by_role("radio", name="No").check()
        patient.get_by_label("Your name").fill("Pat Example")
        patient.get_by_role("button", name="Continue").click()

        # Device check: live preview, a moving level meter, then the waiting room.
        expect(
            patient.get_by_role("heading", name="Check your camera and microphone")
        ).to_be_visible()
        expect(patient.locator("#visit-summary")).to_contain_text("Dr Robin Lee")
        join_button = patient.get_by_role("button", name="Join the waiting room")
        expect(join_button).to_be_enabled(timeout=TIMEOUT_MS)
        patient.wait_for_function(
            "() => document.getElementById('preview').videoWidth > 0", timeout=TIMEOUT_MS
        )
        patient.wait_for_function(
            "() => document.getElementById('level').value > 0", timeout=TIMEOUT_MS
        )
        meter = patient.get_by_label("Microphone level")
        assert meter.evaluate("el => el.tagName") == "METER"
        assert_accessible(patient, "join: device check")
        join_button.click()

        expect(patient.get_by_role("heading", name="Waiting room")).to_be_visible()
        expect(patient.locator("#queue-text")).to_have_text(
            "You are number 1 in line.", timeout=TIMEOUT_MS
        )
        expect(patient.locator("#clinician-text")).to_have_text(
            "Your clinician is here and will let you in soon."
        )
        expect(patient.get_by_role("status")).to_contain_text("number 1 in line")
        assert_accessible(patient, "join: waiting room")

        # The clinician sees the patient waiting, on the call page and the dashboard.
        waiting_item = clinician.locator("#waiting-list li", has_text="Pat Example")
        expect(waiting_item).to_be_visible(timeout=TIMEOUT_MS)
        expect(clinician.get_by_role("status")).to_contain_text("Pat Example is waiting")
        assert_accessible(clinician, "clinician call: patient waiting")
        expect(row.locator(".badge")).to_have_text("Waiting", timeout=12_000)
        expect(row).to_have_class(re.compile(r"\bis-waiting\b"))
        expect(dashboard.get_by_role("status")).to_contain_text("is waiting")

        clinician.get_by_role("button", name="Admit Pat Example").click()

        # Both sides connect and receive the other's audio and video.
        expect(patient.get_by_role("heading", name="In your visit")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        for page in (clinician, patient):
            media = remote_media(page)
            assert media["state"] == "connected"
            assert media["kinds"] == ["audio", "video"]
            assert media["live"] is True
            assert media["width"] > 0 and media["height"] > 0
        expect(clinician.locator("#waiting-empty")).to_be_visible()
        expect(clinician.locator("#remote-tiles figcaption")).to_have_text("Pat Example")
        expect(patient.locator("#remote-tiles figcaption")).to_have_text("Dr Robin Lee")
        assert_accessible(clinician, "clinician call: in call")
        assert_accessible(patient, "join: in call")

        # Mute is announced and reaches the other side as media_state.
        patient.get_by_role("button", name="Mute").click()
        expect(patient.get_by_role("button", name="Mute")).to_have_attribute("aria-pressed", "true")
        expect(clinician.locator("#remote-tiles figcaption")).to_have_text(
            "Pat Example (microphone muted)", timeout=TIMEOUT_MS
        )
        patient.keyboard.press("Alt+M")
        expect(clinician.locator("#remote-tiles figcaption")).to_have_text(
            "Pat Example", timeout=TIMEOUT_MS
        )

        # Chat goes both ways.
        clinician.get_by_label("Message").fill("Hello Pat, can you hear me?")
        clinician.get_by_role("button", name="Send").click()
        expect(patient.locator("#chat-log")).to_contain_text(
            "Dr Robin Lee: Hello Pat, can you hear me?", timeout=TIMEOUT_MS
        )
        patient.get_by_label("Message").fill("Yes, loud and clear.")
        patient.get_by_label("Message").press("Enter")
        expect(clinician.locator("#chat-log")).to_contain_text(
            "Pat Example: Yes, loud and clear.", timeout=TIMEOUT_MS
        )
        expect(patient.locator("#chat-log")).to_contain_text("You: Yes, loud and clear.")

        # The patient's connection drops: the page reconnects with its resume token and
        # keeps its place in the call (no new waiting-room round, same peer id).
        peer_id = patient.evaluate("window.__call.signaling.peerId")
        patient_sockets[-1].close(code=1011, reason="network trouble")
        patient.wait_for_function(
            "() => window.__announcements.includes('Reconnected.')", timeout=TIMEOUT_MS
        )
        assert "Reconnecting…" in announcements(patient)
        assert patient.evaluate("window.__call.signaling.peerId") == peer_id
        expect(patient.get_by_role("heading", name="In your visit")).to_be_visible()
        assert remote_media(patient)["state"] == "connected"
        clinician.get_by_label("Message").fill("Are you still there?")
        clinician.get_by_label("Message").press("Enter")
        expect(patient.locator("#chat-log")).to_contain_text(
            "Dr Robin Lee: Are you still there?", timeout=TIMEOUT_MS
        )

        # The clinician ends the call after confirming; both pages show the ended state.
        clinician.get_by_role("button", name="End call").click()
        dialog = clinician.get_by_role("dialog", name="End the call for everyone?")
        expect(dialog).to_be_visible()
        assert_accessible(clinician, "clinician call: end call dialog")
        dialog.get_by_role("button", name="End call").click()
        for page in (clinician, patient):
            expect(page.get_by_role("heading", name="The visit has ended")).to_be_visible(
                timeout=TIMEOUT_MS
            )
            expect(page.get_by_role("heading", name="The visit has ended")).to_be_focused()
        expect(patient.locator("#ended-text")).to_contain_text("The clinician ended the call")
        assert clinician.evaluate("window.__call.pc") is None
        assert_accessible(clinician, "clinician call: ended")
        assert_accessible(patient, "join: ended")

        assert server.visit_status(visit_id) == "ended"
        expect(row.locator(".badge")).to_have_text("Ended", timeout=12_000)
    finally:
        clinician_context.close()
        patient_context.close()
