"""The registry as JSON for the browser (`GET /api/navigation/actions`, `web/js/actions.js`)."""

from __future__ import annotations

from typing import Any

from telehealth.navigation.actions import ACTIONS, PAGE_PLACES, PAGES, check_page
from telehealth.navigation.spoken import help_text


def registry_view(wake_phrase: str, page: str | None = None) -> dict[str, Any]:
    """Every action (or only `page`'s), and each page's place and spoken help."""
    only = check_page(page) if page is not None else None
    return {
        "wake_phrase": wake_phrase,
        "pages": {
            name: {"place": PAGE_PLACES[name], "help": help_text(name, wake_phrase=wake_phrase)}
            for name in PAGES
        },
        "actions": [
            {
                "id": action.id,
                "phrases": list(action.phrases),
                "shortcut": action.shortcut,
                "description": action.description,
                "pages": list(action.pages),
                "confirm": action.confirm,
                "confirmation_answer": action.confirmation_answer,
                "opposite": action.opposite,
                "performed_by_assistant": action.performed_by_assistant,
            }
            for action in ACTIONS
            if only is None or only in action.pages
        ],
    }
