"""The pages' Jinja2 environment: autoescaping on, and the action registry as globals.

A template names an action (`action("mute")`) and takes its shortcut and description from
the registry, so a shortcut is written in one place (telehealth/navigation/actions.py).
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.templating import Jinja2Templates

from telehealth.navigation import Action, get_action
from telehealth.web.root import templates_dir

# Keys as people read them; `aria-keyshortcuts` keeps the registry's spelling.
KEY_NAMES = {
    ".": "Period",
    ",": "Comma",
    "ArrowUp": "Up arrow",
    "ArrowDown": "Down arrow",
    "ArrowLeft": "Left arrow",
    "ArrowRight": "Right arrow",
}


def key_label(action: Action) -> str:
    """ "Alt+ArrowUp" -> "Alt+Up arrow" (as web/static/js/actions.js shortcutLabel)."""
    *modifiers, key = action.shortcut.split("+")
    return "+".join([*modifiers, KEY_NAMES.get(key, key)])


@cache
def page_templates() -> Jinja2Templates:
    environment = Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt name fails the page, not renders blank
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    environment.globals.update(action=get_action, key_label=key_label, session=None)
    return Jinja2Templates(env=environment)
