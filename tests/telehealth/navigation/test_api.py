"""GET /api/navigation/actions: the registry as the browser loads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from telehealth.navigation import ACTIONS, PAGES, get_action
from tests.conftest import make_settings
from tests.telehealth.api_client import client_for, running_app


@pytest.mark.asyncio
async def test_the_registry_with_the_configured_wake_phrase(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, wake_phrase="computer")
    async with running_app(settings) as app, client_for(app) as client:
        everything = await client.get("/api/navigation/actions")
        call = await client.get("/api/navigation/actions", params={"page": "call"})
        unknown = await client.get("/api/navigation/actions", params={"page": "lobby"})
    assert everything.status_code == 200
    body = everything.json()
    assert body["wake_phrase"] == "computer"
    assert body["voice"] is False  # speech is off: the page offers no voice commands
    assert [item["id"] for item in body["actions"]] == [action.id for action in ACTIONS]
    mute = body["actions"][0]
    assert mute == {
        "id": "mute",
        "phrases": list(get_action("mute").phrases),
        "shortcut": "Alt+M",
        "description": "Mute your microphone",
        "pages": ["device_check", "waiting", "call"],
        "confirm": None,
        "confirmation_answer": False,
        "opposite": "unmute",
        "performed_by_assistant": False,
    }
    assert set(body["pages"]) == set(PAGES)
    assert body["pages"]["call"]["place"] == "in the video call"
    assert "Start each command with 'computer'" in body["pages"]["call"]["help"]

    assert call.status_code == 200
    ids = {item["id"] for item in call.json()["actions"]}
    assert {"end_call", "captions_on", "yes", "no"} <= ids
    assert "check_in" not in ids
    assert unknown.status_code == 422  # a page name is checked, not echoed into anything


@pytest.mark.asyncio
async def test_the_registry_says_when_voice_commands_are_available(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, speech_engine="auto")
    async with running_app(settings) as app, client_for(app) as client:
        body = (await client.get("/api/navigation/actions")).json()
    assert body["voice"] is True
