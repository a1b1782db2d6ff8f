"""The action registry is consistent: phrases, shortcuts, pages, help, phrase lists."""

from __future__ import annotations

import re
from itertools import combinations

import pytest

from telehealth.assistant.navigator import SPOKEN_ACTIONS
from telehealth.navigation import (
    ACTIONS,
    PAGES,
    UnknownAction,
    UnknownPage,
    actions_for,
    get_action,
    help_text,
    phrases_for,
    registry_view,
    where_am_i_text,
)
from telehealth.navigation.actions import ASSISTANT_ACTIONS
from telehealth.navigation.matching import ActionPhrases
from voice.phrases import PhraseList, normalize_text

MODIFIERS = {"Alt", "Control", "Meta", "Shift"}
REQUIRED = [
    "mute",
    "unmute",
    "camera_off",
    "camera_on",
    "captions_on",
    "captions_off",
    "read_captions",
    "read_last_caption",
    "help",
    "where_am_i",
    "repeat",
    "check_in",
    "start_symptom_check",
    "faster",
    "slower",
    "louder",
    "softer",
    "end_call",
    "stop_listening",
    "start_listening",
    "yes",
    "no",
]


def test_every_action_of_the_brief_is_there_once() -> None:
    ids = [action.id for action in ACTIONS]
    assert sorted(ids) == sorted(REQUIRED)
    assert len(set(ids)) == len(ids)


def test_every_action_is_complete() -> None:
    for action in ACTIONS:
        assert len(action.phrases) >= 3, action.id
        assert action.description and action.description[0].isupper(), action.id
        assert action.pages and set(action.pages) <= set(PAGES), action.id
        assert get_action(action.id) is action


@pytest.mark.parametrize("page", PAGES)
def test_no_phrase_belongs_to_two_actions_on_a_page(page: str) -> None:
    owner: dict[str, str] = {}
    for action in actions_for(page, include_answers=True):
        for phrase in action.phrases:
            key = normalize_text(phrase)
            assert owner.setdefault(key, action.id) == action.id, (page, phrase)


@pytest.mark.parametrize("page", PAGES)
def test_each_phrase_said_exactly_finds_its_action(page: str) -> None:
    matcher = ActionPhrases(actions_for(page, include_answers=True))
    for action in actions_for(page, include_answers=True):
        for phrase in action.phrases:
            assert matcher.best(normalize_text(phrase).split()) == action.id, phrase


@pytest.mark.parametrize("page", PAGES)
def test_the_recognizer_never_turns_a_listed_phrase_into_another(page: str) -> None:
    refused: set[str] = set()
    for in_call in (False, True):
        listed = PhraseList(phrases_for(page, in_call, confirming=True))
        for phrase in listed.phrases:
            found = listed.match(phrase)
            assert found is None or found.phrase == phrase, (page, in_call, phrase)
            if found is None:
                refused.add(phrase)
    # Only "mute my microphone" and "unmute my microphone" after the wake word are within
    # the engine's ambiguity margin of each other; the engine reports them as
    # NotUnderstood(heard) and the matcher, which compares actions rather than phrases,
    # still finds them (test_commands).
    assert refused <= {"assistant mute my microphone", "assistant unmute my microphone"}


def test_every_shortcut_has_a_modifier_and_is_shared_only_by_opposites() -> None:
    by_shortcut: dict[str, list[str]] = {}
    for action in ACTIONS:
        parts = action.shortcut.split("+")
        assert len(parts) >= 2 and set(parts[:-1]) <= MODIFIERS, action.shortcut
        assert {"Alt", "Control"} & set(parts[:-1]), action.shortcut  # works while typing
        assert parts[-1] and parts[-1] not in MODIFIERS, action.shortcut
        by_shortcut.setdefault(action.shortcut, []).append(action.id)
    for shortcut, ids in by_shortcut.items():
        if len(ids) > 1:
            assert len(ids) == 2, shortcut
            first, second = (get_action(i) for i in ids)
            assert first.opposite == second.id and second.opposite == first.id, shortcut
            assert first.pages == second.pages


def test_opposites_point_at_each_other() -> None:
    for action in ACTIONS:
        if action.opposite is not None:
            assert get_action(action.opposite).opposite == action.id


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_help_where_am_i_and_listening_controls(page: str) -> None:
    ids = {action.id for action in actions_for(page)}
    assert {"help", "where_am_i", "repeat", "stop_listening", "start_listening"} <= ids
    assert "yes" not in ids and "no" not in ids  # only while confirming
    spoken = help_text(page)
    assert spoken.startswith("You are ") and "You can say: " in spoken
    for action in actions_for(page):
        if action.id != "start_listening":
            assert action.primary_phrase in spoken, (page, action.id)
    assert where_am_i_text(page) in spoken


def test_help_in_a_call_says_how_to_use_the_wake_phrase() -> None:
    spoken = help_text("call", wake_phrase="computer")
    assert "Start each command with 'computer', for example 'computer, mute'." in spoken
    assert "end the call" in spoken and "check in" not in spoken
    assert "computer" not in help_text("join", wake_phrase="computer")


def test_actions_are_where_the_journey_needs_them() -> None:
    assert {a.id for a in actions_for("join")} >= {"check_in", "start_symptom_check"}
    assert "end_call" in {a.id for a in actions_for("call")}
    for page in ("join", "intake", "ended"):
        assert not {"mute", "end_call", "captions_on"} & {a.id for a in actions_for(page)}
    assert get_action("end_call").confirm == "Are you sure? Say yes to end the call."


def test_phrase_lists_outside_and_inside_a_call() -> None:
    join = phrases_for("join")
    assert "check in" in join and not any(p.startswith("assistant") for p in join)
    call = phrases_for("call")
    assert "assistant mute" in call and "assistant end the call" in call
    # The bare phrases are listed too, as the reject class for conversation.
    assert "mute my microphone" in call
    # The main phrases come last: the engine's prompt keeps the end of the list.
    assert call[-1] == "assistant stop listening"
    # "start listening" only once listening has stopped (it drew "stop listening" to it).
    assert not any("start listening" in phrase for phrase in call)
    assert call.index("assistant mute") > call.index("assistant mute my microphone")
    assert phrases_for("call", wake_phrase="Hey Doc!")[-1] == "hey doc stop listening"
    assert len(call) == len(set(call)) and len(call) <= 500


def test_phrase_lists_while_confirming_or_stopped() -> None:
    confirming = phrases_for("call", confirming=True)
    assert confirming[-2:] == ["yes", "no"]
    assert "yeah" in confirming and "assistant yes" not in confirming
    stopped = phrases_for("call", listening=False)
    assert set(stopped) == {
        *get_action("start_listening").phrases,
        *(f"assistant {p}" for p in get_action("start_listening").phrases),
    }
    assert phrases_for("join", listening=False) == [
        "resume listening",
        "wake up",
        "start listening",
    ]


def test_unknown_pages_and_actions_are_refused_clearly() -> None:
    with pytest.raises(UnknownPage, match="unknown page 'lobby'; known pages: join, "):
        actions_for("lobby")
    with pytest.raises(UnknownAction, match="unknown action 'dance'"):
        get_action("dance")
    with pytest.raises(UnknownPage):
        phrases_for("lobby")


def test_the_json_view_lists_everything_the_browser_needs() -> None:
    view = registry_view("assistant")
    assert view["wake_phrase"] == "assistant"
    assert [item["id"] for item in view["actions"]] == [a.id for a in ACTIONS]
    end_call = next(item for item in view["actions"] if item["id"] == "end_call")
    assert end_call == {
        "id": "end_call",
        "phrases": ["end the call", "end call", "hang up", "leave the call"],
        "shortcut": "Alt+X",
        "description": "End the call",
        "pages": ["call"],
        "confirm": "Are you sure? Say yes to end the call.",
        "confirmation_answer": False,
        "opposite": None,
        "performed_by_assistant": False,
    }
    assert set(view["pages"]) == set(PAGES)
    assert view["pages"]["waiting"]["help"].startswith("You are in the waiting room.")
    only_join = registry_view("assistant", "join")["actions"]
    assert "check_in" in {item["id"] for item in only_join}
    assert "mute" not in {item["id"] for item in only_join}


def test_shortcut_keys_are_aria_keyshortcuts_values() -> None:
    # "Alt+M", "Alt+Shift+C", "Alt+ArrowUp", "Alt+.": a modifier list and one key value.
    pattern = re.compile(r"^(?:(?:Alt|Control|Meta|Shift)\+)+(?:[A-Z]|[.,]|Arrow(?:Up|Down))$")
    for action in ACTIONS:
        assert pattern.match(action.shortcut), action.shortcut


def test_no_two_actions_on_a_page_have_near_identical_phrases() -> None:
    # The matcher needs a margin between actions; phrases 95+ alike would only work exactly.
    from rapidfuzz import fuzz

    for page in PAGES:
        actions = actions_for(page, include_answers=True)
        for first, second in combinations(actions, 2):
            for a in first.phrases:
                for b in second.phrases:
                    score = fuzz.ratio(normalize_text(a), normalize_text(b))
                    assert score < 96, (page, a, b, score)


def test_the_registry_says_which_actions_the_assistant_carries_out() -> None:
    # The one list the navigator and the page (actions.js assistantActions) both read.
    assert {
        "help",
        "where_am_i",
        "repeat",
        "faster",
        "slower",
        "louder",
        "softer",
        "stop_listening",
        "start_listening",
    } == ASSISTANT_ACTIONS
    assert SPOKEN_ACTIONS is ASSISTANT_ACTIONS
    view = registry_view("assistant")["actions"]
    assert {item["id"] for item in view if item["performed_by_assistant"]} == ASSISTANT_ACTIONS
