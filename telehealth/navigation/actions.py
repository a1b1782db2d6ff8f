"""The one registry of user actions: what each is called, said, pressed, and where it works.

Everything else is generated from this table: the spoken help for a page, the phrase list
given to the recognizer, the JSON the browser loads (`web/js/actions.js`), and the command
matcher. An action's first phrase is the one help reads out; the others are ways people
also say it. Every shortcut has a modifier (WCAG 2.1.4: no single-character shortcuts);
two opposite actions (mute/unmute) share one shortcut, which toggles between them.
Shortcut keys are written as `aria-keyshortcuts` values ("Alt+M", "Alt+ArrowUp", "Alt+.").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from telehealth.navigation.errors import UnknownAction, UnknownPage

Page = Literal["join", "device_check", "intake", "waiting", "call", "ended"]
PAGES: tuple[Page, ...] = get_args(Page)

# Said by `where_am_i` and at the start of each page's help: "You are ...".
PAGE_PLACES: dict[Page, str] = {
    "join": "on the check-in page",
    "device_check": "at the camera and microphone check",
    "intake": "answering the symptom questions",
    "waiting": "in the waiting room",
    "call": "in the video call",
    "ended": "at the end of your visit",
}

# On these pages, speech that is not a command is meant for someone or something else (the
# clinician, the symptom questions), so it is left alone instead of answered with a hint.
FREE_SPEECH_PAGES: frozenset[Page] = frozenset({"intake", "call"})


@dataclass(frozen=True, slots=True)
class Action:
    """One user action, reachable by click, key and voice with one handler."""

    id: str
    phrases: tuple[str, ...]
    shortcut: str
    description: str
    pages: tuple[Page, ...]
    confirm: str | None = None  # asked (and answered yes/no) before the action is performed
    cancelled: str | None = None  # said when the confirmation is answered "no"
    confirmation_answer: bool = False  # yes/no: only heard while a confirmation is pending
    opposite: str | None = None  # the action that shares this one's shortcut (a toggle)
    # Carried out by the voice assistant itself (it speaks the outcome: help, faster...);
    # the page asks it to by key or click and only shows that it happened.
    performed_by_assistant: bool = False

    @property
    def primary_phrase(self) -> str:
        return self.phrases[0]


_MEDIA: tuple[Page, ...] = ("device_check", "waiting", "call")
_CALL: tuple[Page, ...] = ("call",)

ACTIONS: tuple[Action, ...] = (
    Action(
        "mute",
        ("mute", "mute me", "mute my microphone"),
        "Alt+M",
        "Mute your microphone",
        _MEDIA,
        opposite="unmute",
    ),
    Action(
        "unmute",
        ("unmute", "unmute me", "unmute my microphone"),
        "Alt+M",
        "Unmute your microphone",
        _MEDIA,
        opposite="mute",
    ),
    Action(
        "camera_off",
        ("camera off", "turn off my camera", "switch off my camera"),
        "Alt+V",
        "Turn your camera off",
        _MEDIA,
        opposite="camera_on",
    ),
    Action(
        "camera_on",
        ("camera on", "turn on my camera", "switch on my camera"),
        "Alt+V",
        "Turn your camera on",
        _MEDIA,
        opposite="camera_off",
    ),
    Action(
        "captions_on",
        ("captions on", "show captions", "turn on captions"),
        "Alt+C",
        "Show live captions",
        _CALL,
        opposite="captions_off",
    ),
    Action(
        "captions_off",
        ("captions off", "hide captions", "turn off captions"),
        "Alt+C",
        "Hide live captions",
        _CALL,
        opposite="captions_on",
    ),
    Action(
        "read_captions",
        ("read the captions", "read captions", "read recent captions"),
        "Alt+Shift+C",
        "Read the recent captions aloud",
        _CALL,
    ),
    Action(
        "read_last_caption",
        ("read the last caption", "read last caption", "last caption"),
        "Alt+L",
        "Read the last caption aloud",
        _CALL,
    ),
    Action(
        "help",
        ("what can I say", "help", "help me"),
        "Alt+H",
        "Hear or show the commands for this page",
        PAGES,
        performed_by_assistant=True,
    ),
    Action(
        "where_am_i",
        ("where am I", "where are we", "which page is this"),
        "Alt+W",
        "Hear which page you are on",
        PAGES,
        performed_by_assistant=True,
    ),
    Action(
        "repeat",
        ("repeat", "say that again", "repeat that"),
        "Alt+R",
        "Repeat the last thing said",
        PAGES,
        performed_by_assistant=True,
    ),
    Action(
        "check_in",
        ("check in", "join the call", "check me in", "I am here"),
        "Alt+J",
        "Check in for your visit",
        ("join", "device_check"),
    ),
    Action(
        "start_symptom_check",
        ("start symptom check", "check my symptoms", "answer the questions"),
        "Alt+S",
        "Start the symptom questions",
        ("join", "device_check", "waiting"),
    ),
    Action(
        "faster",
        ("faster", "speak faster", "go faster"),
        "Alt+.",
        "Speak faster",
        PAGES,
        performed_by_assistant=True,
    ),
    Action(
        "slower",
        ("slower", "slow down", "go slower"),
        "Alt+,",
        "Speak slower",
        PAGES,
        performed_by_assistant=True,
    ),
    Action(
        "louder",
        ("louder", "speak louder", "raise the volume"),
        "Alt+ArrowUp",
        "Speak louder",
        PAGES,
        performed_by_assistant=True,
    ),
    Action(
        "softer",
        ("quieter", "lower the volume", "not so loud"),
        "Alt+ArrowDown",
        "Speak more softly",
        PAGES,
        performed_by_assistant=True,
    ),
    Action(
        "end_call",
        ("end the call", "end call", "hang up", "leave the call"),
        "Alt+X",
        "End the call",
        _CALL,
        confirm="Are you sure? Say yes to end the call.",
        cancelled="OK, the call goes on.",
    ),
    Action(
        "stop_listening",
        ("stop listening", "go to sleep", "pause listening"),
        "Alt+Shift+L",
        "Stop listening for voice commands",
        PAGES,
        opposite="start_listening",
        performed_by_assistant=True,
    ),
    Action(
        "start_listening",
        ("start listening", "resume listening", "wake up"),
        "Alt+Shift+L",
        "Start listening for voice commands again",
        PAGES,
        opposite="stop_listening",
        performed_by_assistant=True,
    ),
    Action(
        "yes",
        ("yes", "yes please", "yeah", "confirm"),
        "Alt+Y",
        "Answer yes to a question",
        PAGES,
        confirmation_answer=True,
    ),
    Action(
        "no",
        ("no", "no thanks", "cancel"),
        "Alt+N",
        "Answer no to a question",
        PAGES,
        confirmation_answer=True,
    ),
)

_BY_ID: dict[str, Action] = {action.id: action for action in ACTIONS}

ASSISTANT_ACTIONS: frozenset[str] = frozenset(
    action.id for action in ACTIONS if action.performed_by_assistant
)
"""The actions the voice assistant carries out itself (the browser reads the same flag)."""


def check_page(page: str) -> Page:
    """`page` as a `Page`, or `UnknownPage` naming the known ones."""
    if page not in PAGES:
        raise UnknownPage(f"unknown page {page!r}; known pages: {', '.join(PAGES)}")
    return page


def get_action(action_id: str) -> Action:
    """The action with this id, or `UnknownAction`."""
    try:
        return _BY_ID[action_id]
    except KeyError:
        raise UnknownAction(f"unknown action {action_id!r}") from None


def actions_for(page: str, *, include_answers: bool = False) -> tuple[Action, ...]:
    """The actions available on `page`, in registry order; yes/no only with
    `include_answers` (they are heard only while a confirmation is pending)."""
    checked = check_page(page)
    return tuple(
        action
        for action in ACTIONS
        if checked in action.pages and (include_answers or not action.confirmation_answer)
    )


def confirmation_answers() -> tuple[Action, Action]:
    """The yes and no actions."""
    return get_action("yes"), get_action("no")
