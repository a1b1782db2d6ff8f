"""The phrase list a recognizer stream gets for a page (`engine.stream(phrases)`).

The Whisper engine maps what it heard to the closest listed phrase when that scores at least
75 (rapidfuzz `ratio`, 0-100, on normalized text) and beats the runner-up by more than 5,
else reports `NotUnderstood(heard)`. Outside a call every utterance is meant as a command,
so the list is just the page's phrases. Inside a call, a command must start with the wake
phrase, and the list holds "assistant mute" and so on. That alone is not enough: the wake
word is only 10 of the 28 characters of "assistant mute my microphone", so "I can't mute my
microphone" scores 87 against it and would be taken for the command. So in a call the bare
phrases ("mute my microphone") are listed too, as a reject class: conversation that quotes
a command is closer to (or ambiguous with) the bare phrase, and `CommandMatcher` treats a
bare phrase in a call as no command. Said with the wake phrase, the command still wins
clearly (100 against 78).

Order matters: the engine also gives the list to Whisper as a prompt, keeping only its
last ~100 tokens, so the reject class goes first and each action's main phrase last.
"""

from __future__ import annotations

from telehealth.navigation.actions import (
    Action,
    actions_for,
    check_page,
    confirmation_answers,
    get_action,
)
from telehealth.navigation.errors import InvalidWakePhrase
from voice.phrases import normalize_text


def wake_words(wake_phrase: str) -> tuple[str, ...]:
    """The wake phrase as normalized words; `InvalidWakePhrase` if it has none."""
    words = tuple(normalize_text(wake_phrase).split())
    if not words:
        raise InvalidWakePhrase(f"wake phrase {wake_phrase!r} has no words")
    return words


def with_wake(wake_phrase: str, phrase: str) -> str:
    """ "assistant" + "mute" -> "assistant mute" (the form listed for a call)."""
    return f"{' '.join(wake_words(wake_phrase))} {phrase}"


def listened_actions(page: str, *, listening: bool = True) -> tuple[Action, ...]:
    """The actions a stream listens for: the page's, or only "start listening" once
    listening has stopped. While listening, "start listening" is left out: it would do
    nothing, and listed it pulls Whisper's "stop listening" towards it."""
    if not listening:
        return (get_action("start_listening"),)
    return tuple(action for action in actions_for(page) if action.id != "start_listening")


def phrases_for(
    page: str,
    in_call: bool | None = None,
    *,
    wake_phrase: str = "assistant",
    confirming: bool = False,
    listening: bool = True,
) -> list[str]:
    """The recognizer phrase list for `page` (in a call when `in_call`, default: the call
    page). With `confirming`, yes and no (without the wake phrase) come last; with
    `listening=False`, only the phrases that resume listening are listed."""
    checked = check_page(page)
    in_call = checked == "call" if in_call is None else in_call
    actions = listened_actions(checked, listening=listening)
    secondary = [phrase for action in actions for phrase in action.phrases[1:]]
    primary = [action.primary_phrase for action in actions]
    if in_call:
        rejects = [*secondary, *primary]
        listed = [
            *rejects,
            *(with_wake(wake_phrase, phrase) for phrase in secondary),
            *(with_wake(wake_phrase, phrase) for phrase in primary),
        ]
    else:
        listed = [*secondary, *primary]
    if confirming:
        yes, no = confirmation_answers()
        listed += [*yes.phrases[1:], *no.phrases[1:], yes.primary_phrase, no.primary_phrase]
    # Keep the first occurrence of each phrase (the list is order-sensitive, see above).
    return list(dict.fromkeys(listed))
