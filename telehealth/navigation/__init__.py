"""Voice, keyboard and click navigation: one registry of actions, and command matching.

`actions` is the registry (ids, phrases, shortcuts, pages); `phrase_lists` builds the
recognizer's phrase list for a page; `commands` decides what an utterance asks for, with
`matching` (wake phrase, fuzzy phrase matching); `preferences` holds the speaking rate and
volume; `spoken` is what the assistant says about commands; `views` is the registry as JSON
for the browser (`web/js/actions.js`). Errors derive from `NavigationError` (`errors`).
"""

from __future__ import annotations

from telehealth.navigation.actions import (
    ACTIONS,
    PAGES,
    Action,
    Page,
    actions_for,
    get_action,
)
from telehealth.navigation.commands import (
    CommandMatch,
    CommandMatcher,
    CommandResult,
    NoCommand,
    NotUnderstoodCommand,
)
from telehealth.navigation.errors import (
    InvalidWakePhrase,
    NavigationError,
    NotAVoiceSetting,
    UnknownAction,
    UnknownPage,
)
from telehealth.navigation.phrase_lists import phrases_for
from telehealth.navigation.preferences import PreferenceChange, VoicePreferences, apply_preference
from telehealth.navigation.spoken import help_text, where_am_i_text
from telehealth.navigation.views import registry_view

__all__ = [
    "ACTIONS",
    "PAGES",
    "Action",
    "CommandMatch",
    "CommandMatcher",
    "CommandResult",
    "InvalidWakePhrase",
    "NavigationError",
    "NoCommand",
    "NotAVoiceSetting",
    "NotUnderstoodCommand",
    "Page",
    "PreferenceChange",
    "UnknownAction",
    "UnknownPage",
    "VoicePreferences",
    "actions_for",
    "apply_preference",
    "get_action",
    "help_text",
    "phrases_for",
    "registry_view",
    "where_am_i_text",
]
