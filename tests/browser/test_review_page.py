"""The transcript review page in Chromium: list, transcript with uncertain words, keyboard
corrections with history, search, export links, signed out; axe-core on every state."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from telehealth.storage import Database
from telehealth.transcripts import store_chat_message, store_final_segment
from tests.browser.axe import assert_accessible
from tests.browser.conftest import CLINICIAN_EMAIL, CLINICIAN_PASSWORD, _running_server
from tests.server_database import server_database

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class ReviewServer:
    base_url: str
    database_url: str
    visit_id: str


# (speaker role, name, start s, text, confidence of each word)
CaptionLine = tuple[str, str, float, str, list[float]]


async def store_caption_lines(database: Database, visit_id: str, lines: list[CaptionLine]) -> None:
    """Store final captions as the speech pipeline does (only with the patient's consent)."""
    for role, name, start, text, confidences in lines:
        words = [
            {"text": w, "start_s": start, "end_s": start + 0.3, "confidence": c}
            for w, c in zip(text.split(), confidences, strict=True)
        ]
        stored = await store_final_segment(
            database,
            visit_id,
            speaker_role=role,
            speaker_name=name,
            speaker_peer_id=role,
            start_s=start,
            end_s=start + 2,
            text=text,
            words=words,
            confidence=0.8,
            engine="whisper",
            model="whisper-tiny.en",
            language="en",
        )
        assert stored is not None, "the patient's consent was not stored"


def run_beside_playwright(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` to its end. Playwright's sync API runs an event loop on this thread, so
    it runs on another one."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(asyncio.run, work).result(timeout=60)


def _store(data_dir: Path, visit_id: str) -> None:
    async def store() -> None:
        database = server_database(data_dir)
        try:
            lines: list[CaptionLine] = [
                ("clinician", "Dr Robin Lee", 1.0, "what brings you in today", [0.9] * 5),
                ("patient", "Jo", 4.0, "my hed hurts since tuesday", [0.95, 0.2, 0.9, 0.9, 0.9]),
            ]
            await store_caption_lines(database, visit_id, lines)
            await store_chat_message(
                database,
                visit_id,
                sender_role="patient",
                sender_name="Jo",
                text="my camera is off, sorry",
                sent_at=datetime.now(UTC),
            )
        finally:
            await database.close()

    run_beside_playwright(store())


@pytest.fixture(scope="module")
def review_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewServer]:
    """A server of its own (a known, empty database) with one consented transcript."""
    with _running_server(tmp_path_factory.mktemp("review-server")) as server:
        with server.clinician_client() as clinician:
            visit = clinician.post(
                "/api/visits",
                json={"scheduled_at": datetime.now(UTC).isoformat(), "patient_label": "J. D."},
            ).json()
        token = visit["invite_url"].split("#invite=")[1]
        with httpx.Client(base_url=server.base_url, timeout=10) as patient:
            patient.post(
                "/api/patient/session", json={"invite": token, "display_name": "Jo"}
            ).raise_for_status()
            patient.put("/api/patient/consent", json={"transcript": True}).raise_for_status()
        assert server.data_dir is not None
        database_url = f"sqlite+aiosqlite:///{server.data_dir / 'telehealth.db'}"
        _store(server.data_dir, visit["visit"]["id"])
        yield ReviewServer(server.base_url, database_url, visit["visit"]["id"])


def _signed_in(browser: Browser, server: ReviewServer) -> BrowserContext:
    context = browser.new_context(base_url=server.base_url)
    response = context.request.post(
        "/api/auth/login", data={"email": CLINICIAN_EMAIL, "password": CLINICIAN_PASSWORD}
    )
    assert response.ok, response.text()
    return context


def test_review_correct_and_search(browser: Browser, review_server: ReviewServer) -> None:
    context = _signed_in(browser, review_server)
    try:
        page = context.new_page()
        page.goto("/clinician/review")
        expect(page.get_by_role("heading", level=1)).to_have_text("Transcripts")
        row = page.get_by_role("row", name=re.compile("J. D."))
        expect(row).to_contain_text("Given")
        assert_accessible(page, "review: list")

        row.get_by_role("link", name=re.compile(r"^Open transcript of J\. D\.")).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            re.compile(r"^Transcript: J\. D\.")
        )
        expect(page).to_have_url(re.compile(rf"\?visit={review_server.visit_id}$"))
        expect(page.locator("#fact-consent")).to_have_text(re.compile("^Given"))
        uncertain = page.locator(".uncertain")
        expect(uncertain).to_have_count(1)
        expect(uncertain).to_have_text("hed (uncertain)")
        expect(page.locator("#chat")).to_contain_text("my camera is off, sorry")
        links = page.locator("#export-links a")
        expect(links).to_have_count(4)
        expect(page.get_by_role("link", name="WebVTT captions (.vtt)")).to_have_attribute(
            "href", f"/api/transcripts/{review_server.visit_id}/export?format=vtt"
        )
        assert_accessible(page, "review: transcript")

        # Correct a segment with the keyboard alone.
        edit = page.get_by_role("button", name="Edit segment at 00:00:04")
        edit.focus()
        page.keyboard.press("Enter")
        field = page.get_by_label("Corrected text (Jo, 00:00:04)")
        expect(field).to_be_focused()
        expect(field).to_have_value("my hed hurts since tuesday")
        assert_accessible(page, "review: editing")
        page.keyboard.press("Escape")
        expect(page.get_by_role("status")).to_have_text("Edit cancelled.")
        expect(page.get_by_role("button", name="Edit segment at 00:00:04")).to_be_focused()

        page.keyboard.press("Enter")
        field.fill("my head hurts since tuesday")
        page.keyboard.press("Control+Enter")
        expect(page.get_by_role("status")).to_have_text(
            "Correction saved for the segment at 00:00:04."
        )
        expect(page.get_by_role("button", name="Edit segment at 00:00:04")).to_be_focused()
        expect(page.locator("#segments .segment-text").nth(1)).to_have_text(
            "my head hurts since tuesday"
        )
        expect(page.locator(".uncertain")).to_have_count(0)
        expect(page.locator(".badge.edited")).to_have_text("Edited")

        history = page.get_by_role("button", name="History of segment at 00:00:04")
        history.click()
        expect(history).to_have_attribute("aria-expanded", "true")
        entries = page.locator(".history-list li")
        expect(entries).to_have_count(2)
        expect(entries.nth(0)).to_contain_text("Recognized (whisper-tiny.en)")
        expect(entries.nth(0)).to_contain_text("my hed hurts since tuesday")
        expect(entries.nth(1)).to_contain_text("Corrected by Dr Robin Lee")
        assert_accessible(page, "review: history open")

        exported = context.request.get(
            f"/api/transcripts/{review_server.visit_id}/export?format=txt"
        )
        assert "Jo: my head hurts since tuesday" in exported.text()

        # Search from the transcript: results on the list view, linking to the segment.
        page.get_by_label("Search transcripts").fill("head")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("heading", name="Search results")).to_be_focused()
        expect(page.get_by_role("status")).to_have_text("1 segment matches “head”.")
        expect(page.locator("#results-list mark")).to_have_text("head")
        assert_accessible(page, "review: search results")
        page.get_by_label("Search transcripts").fill('NEAR( "unbalanced')
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#results-summary")).to_have_text(
            'No segments match “NEAR( "unbalanced”.'
        )
        page.get_by_label("Search transcripts").fill("head")
        page.get_by_role("button", name="Search").click()
        page.get_by_role("link", name=re.compile(r"Jo at 00:00:04$")).click()
        target = page.locator("li.segment.is-target")
        expect(target).to_be_focused()
        expect(target).to_contain_text("my head hurts since tuesday")
    finally:
        context.close()


def test_signed_out_and_unknown_transcript(browser: Browser, review_server: ReviewServer) -> None:
    context = browser.new_context(base_url=review_server.base_url)
    try:
        page = context.new_page()
        page.goto("/clinician/review")
        expect(page.get_by_role("heading", name="Please sign in")).to_be_visible()
        expect(page.get_by_role("link", name="Sign in on the clinician page")).to_have_attribute(
            "href", "/clinician"
        )
        expect(page.get_by_role("search")).to_be_hidden()
        assert_accessible(page, "review: signed out")
    finally:
        context.close()
    context = _signed_in(browser, review_server)
    try:
        page = context.new_page()
        page.goto("/clinician/review?visit=0123456789abcdef")
        expect(page.get_by_role("heading", name="This transcript cannot be shown")).to_be_visible()
        expect(page.locator("#problem-text")).to_have_text(
            "There is no such transcript among your visits."
        )
        assert_accessible(page, "review: unknown transcript")
    finally:
        context.close()
