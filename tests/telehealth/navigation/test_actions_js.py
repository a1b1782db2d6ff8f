"""web/js/actions.js in Debian's Chromium: registry from the API, one handler per action
whatever the source, modifier shortcuts (also while typing), confirmation, help table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Page, async_playwright

from telehealth.navigation.actions import ASSISTANT_ACTIONS
from tests.conftest import make_settings
from tests.telehealth.live_server import free_port, live_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-gpu",
]

# A small page made by the test: two toggle buttons, a text field, a help container.
SETUP = """
async () => {
  document.body.innerHTML = `
    <main><h1>Test</h1>
      <button type="button" data-action="mute">Mute</button>
      <button type="button" data-action="end_call">End call</button>
      <label>Note <input id="note"></label>
      <div id="help"></div>
    </main>`;
  const m = await import("/static/js/actions.js");
  window.log = [];
  window.muted = false;
  await m.loadActions({ page: "call" });
  m.registerAction("mute", ({ source }) => { window.muted = true; log.push(`mute:${source}`); },
    { enabled: () => !window.muted });
  m.registerAction("unmute",
    ({ source }) => { window.muted = false; log.push(`unmute:${source}`); },
    { enabled: () => window.muted });
  m.registerAction("end_call", ({ source }) => log.push(`end_call:${source}`));
  m.registerAction("check_in", ({ source }) => log.push(`check_in:${source}`));
  window.answer = false;
  m.setConfirmer(async (action) => { log.push(`asked:${action.id}`); return window.answer; });
  m.bindShortcuts(document);
  m.bindButtons(document);
  window.actions = m;
}
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def page(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Page]:
    """One server and one browser tab for the module (Chromium takes seconds to start)."""
    tmp_path = tmp_path_factory.mktemp("actions-js")
    settings = make_settings(tmp_path, port=free_port(), wake_phrase="computer")
    async with live_server(settings), async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tab = await browser.new_page()
            await tab.goto(f"http://127.0.0.1:{settings.port}/")
            await tab.evaluate(SETUP)
            yield tab
        finally:
            await browser.close()


async def log(tab: Page) -> list[Any]:
    return list(await tab.evaluate("window.log"))


@pytest.mark.browser
@pytest.mark.asyncio(loop_scope="module")
async def test_actions_js_in_chromium(page: Page) -> None:
    tab = page
    # One shortcut, two opposite actions: Alt+M performs whichever is enabled.
    await tab.keyboard.press("Alt+M")
    await tab.keyboard.press("Alt+M")
    # While typing in a field an Alt shortcut still works; plain letters are typing.
    await tab.focus("#note")
    await tab.keyboard.type("m")
    await tab.keyboard.press("Alt+M")
    assert await tab.input_value("#note") == "m"
    # A click and a voice command reach the same handler.
    await tab.evaluate("window.muted = false")
    await tab.click("[data-action=mute]")
    assert await tab.evaluate("actions.perform('unmute', 'voice')") is True
    assert await log(tab) == ["mute:key", "unmute:key", "mute:key", "mute:click", "unmute:voice"]

    # end_call asks first by click or key; by voice the assistant already had its yes.
    await tab.evaluate("window.log = []")
    await tab.click("[data-action=end_call]")
    await tab.keyboard.press("Alt+X")
    await tab.evaluate("window.answer = true")
    await tab.keyboard.press("Alt+X")
    assert await tab.evaluate("actions.perform('end_call', 'voice')") is True
    assert await log(tab) == [
        "asked:end_call",
        "asked:end_call",
        "asked:end_call",
        "end_call:key",
        "end_call:voice",
    ]

    # Not on this page, unknown, or without a handler: nothing happens.
    assert await tab.evaluate("actions.perform('check_in', 'voice')") is False
    assert await tab.evaluate("actions.perform('dance', 'voice')") is False
    assert await tab.evaluate("actions.perform('help', 'voice')") is False
    await tab.evaluate("actions.setPage('join')")
    assert await tab.evaluate("actions.perform('check_in', 'voice')") is True
    await tab.evaluate("actions.setPage('call')")

    # The assistant's own actions come from the registry (no copy in the page's modules).
    assert set(await tab.evaluate("actions.assistantActions()")) == ASSISTANT_ACTIONS

    # Buttons get aria-keyshortcuts from the registry.
    assert await tab.get_attribute("[data-action=mute]", "aria-keyshortcuts") == "Alt+M"
    shortcuts = await tab.evaluate(
        "['Alt+M', 'Alt+Shift+C', 'Alt+.', 'Alt+ArrowUp'].map(s => actions.parseShortcut(s))"
    )
    assert [s["code"] for s in shortcuts] == ["KeyM", "KeyC", "Period", "ArrowUp"]
    assert shortcuts[1]["shift"] and shortcuts[1]["alt"] and not shortcuts[0]["shift"]


@pytest.mark.browser
@pytest.mark.asyncio(loop_scope="module")
async def test_help_table_lists_the_page_actions(page: Page) -> None:
    tab = page
    await tab.evaluate("actions.renderHelp(document.getElementById('help'), 'call')")
    intro = await tab.text_content("#help p")
    assert intro == (
        "During the call, start each voice command with “computer”, for example “computer, mute”."
    )
    rows = await tab.evaluate(
        """[...document.querySelectorAll('#help tbody tr')].map(r =>
            [...r.children].map(c => c.textContent))"""
    )
    first = rows[0]
    assert first[0] == "Mute your microphone"
    assert first[1].startswith("“computer, mute” or “computer, mute me” or ")
    assert first[2] == "Alt+M"
    names = [row[0] for row in rows]
    assert "End the call" in names and "Check in for your visit" not in names
    assert "Answer yes to a question" not in names
    louder = next(row for row in rows if row[0] == "Speak louder")
    assert louder[2] == "Alt+Up arrow"
    assert await tab.text_content("#help caption") == "Commands on this page"
    await tab.evaluate("actions.renderHelp(document.getElementById('help'), 'join')")
    assert await tab.text_content("#help p") == "Say a command, or press its keys."
    said = await tab.text_content("#help tbody tr:first-child td")
    assert said is not None and "computer" not in said
