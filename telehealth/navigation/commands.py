"""Turning what a person said into a command, or deciding it was not one. Pure: no I/O.

`CommandMatcher.match(text)` returns one of:
- `CommandMatch`: perform the action, ask for confirmation first ("end the call"), or
  report that a confirmation was answered "no";
- `NoCommand`: the speech was not meant for the assistant; say nothing. Inside a call that
  is every utterance that does not start with the wake phrase ("assistant, mute"), so
  conversation with the clinician is never taken as a command;
- `NotUnderstoodCommand`: meant as a command but matching none; say the short `hint`.

Feed it the text of the recognizer's events (`match_event`): a `Final` from a phrase-list
stream is a listed phrase, a `NotUnderstood` carries what was heard, and both go through
the same rules, so the matcher also works on free transcripts (captions).

State, all of it per person: whether it is listening at all ("stop listening" leaves only
"start listening"); a pending confirmation, resolved by the next utterance (yes performs,
no cancels, anything else drops it) or dropped after `CONFIRMATION_TIMEOUT_S` when the
caller passes clock readings as `now`; and the wake phrase said alone ("assistant" ...
pause ... "mute": the recognizer may cut there), which makes the next utterance within
`WAKE_WINDOW_S` a command. Change the recognizer's phrase list when `phrases()` changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from telehealth.navigation.actions import (
    FREE_SPEECH_PAGES,
    Action,
    Page,
    actions_for,
    check_page,
    confirmation_answers,
    get_action,
)
from telehealth.navigation.errors import InvalidWakePhrase
from telehealth.navigation.matching import ActionPhrases, Heard, hear
from telehealth.navigation.phrase_lists import listened_actions, phrases_for, wake_words
from telehealth.navigation.spoken import (
    help_text,
    not_understood_hint,
    stopped_listening_text,
    where_am_i_text,
)
from voice.phrases import normalize_text
from voice.recognition import Final, NotUnderstood

CONFIRMATION_TIMEOUT_S = 30.0
LISTENING_AGAIN = "I'm listening."
# After the wake phrase alone, the next utterance within this time is a command without it:
# people pause after "assistant", and the recognizer may cut there.
WAKE_WINDOW_S = 8.0
WAKE_ONLY_REPLY = "Yes?"

Outcome = Literal["perform", "confirm", "cancel"]


@dataclass(frozen=True, slots=True)
class CommandMatch:
    """A command: `perform` it, `confirm` it first (say `say`, wait for yes or no), or
    `cancel` (the confirmation was answered no; say `say`)."""

    action: str
    heard: str
    outcome: Outcome = "perform"
    say: str | None = None


@dataclass(frozen=True, slots=True)
class NoCommand:
    """Not meant for the assistant (conversation, or listening is stopped): stay silent."""

    heard: str


@dataclass(frozen=True, slots=True)
class NotUnderstoodCommand:
    """Meant as a command, but none matched: say `hint`."""

    heard: str
    hint: str


CommandResult = CommandMatch | NoCommand | NotUnderstoodCommand


@dataclass(frozen=True, slots=True)
class _Pending:
    action: Action
    asked_at: float | None


class CommandMatcher:
    """Commands for one person on one page; see the module docstring."""

    def __init__(
        self, page: str, in_call: bool | None = None, wake_phrase: str = "assistant"
    ) -> None:
        self._wake = wake_words(wake_phrase)
        self.wake_phrase = " ".join(self._wake)
        for action in actions_for(check_page(page), include_answers=True):
            for phrase in action.phrases:
                if normalize_text(phrase) == self.wake_phrase:
                    raise InvalidWakePhrase(f"the wake phrase is also the command {phrase!r}")
        self.listening = True
        self._pending: _Pending | None = None
        self._woken = False  # the last utterance was the wake phrase alone
        self._woken_at: float | None = None
        self._answers = ActionPhrases(confirmation_answers())
        self._resume = ActionPhrases([get_action("start_listening")])
        self.move_to(page, in_call)

    def move_to(self, page: str, in_call: bool | None = None) -> None:
        """The person is now on `page` (in a call when `in_call`, default: the call page).
        A pending confirmation is dropped; listening on or off carries over."""
        self.page: Page = check_page(page)
        self.in_call = self.page == "call" if in_call is None else in_call
        # Listening already, "start listening" is no command: misheard "stop listening"
        # often comes out as both ("assistant stop listening, assistant start listening").
        self._commands = ActionPhrases(listened_actions(self.page))
        self._pending = None
        self._woken = False

    @property
    def pending_confirmation(self) -> str | None:
        """The id of the action waiting for yes or no, if any."""
        return self._pending.action.id if self._pending else None

    def set_listening(self, listening: bool) -> None:
        """Turn voice commands on or off (the keyboard shortcut does this, too)."""
        self.listening = listening
        if not listening:
            self._pending = None

    def phrases(self, *, answering: bool = False) -> list[str]:
        """The recognizer phrase list for the current page and state; with `answering`,
        yes and no are listed too (the page asked a yes/no question)."""
        return phrases_for(
            self.page,
            self.in_call,
            wake_phrase=self.wake_phrase,
            confirming=self._pending is not None or answering,
            listening=self.listening,
        )

    def is_exact_command(self, text: str) -> bool:
        """Whether `text` is exactly one of this page's command phrases (politeness aside),
        so it is a command even where a reply is expected."""
        words = normalize_text(text).split()
        return bool(words) and self._commands.best(words, exact=True) is not None

    def pressed(self, action_id: str) -> CommandMatch:
        """An action done by key or click rather than said: the same state change and reply
        as saying it. No confirmation is asked (the page asked already)."""
        return self._perform(get_action(action_id), "")

    def listened_action_ids(self) -> list[str]:
        """The actions a stream listens for right now (for logs and tests: no speech)."""
        return [action.id for action in listened_actions(self.page, listening=self.listening)]

    def help_text(self) -> str:
        return help_text(self.page, in_call=self.in_call, wake_phrase=self.wake_phrase)

    def match_event(
        self, event: Final | NotUnderstood, *, now: float | None = None
    ) -> CommandResult:
        """`match` the text of a recognizer event."""
        return self.match(event.text if isinstance(event, Final) else event.heard, now=now)

    def match(self, text: str, *, now: float | None = None) -> CommandResult:
        """What `text` (one utterance) asks for; updates the listening/confirmation state.
        `now` (seconds, any monotonic clock) lets a stale confirmation or wake expire."""
        heard = hear(text, self._wake, woken_before=self._take_wake(now))
        if not heard.words:
            return NoCommand(text)
        if self._pending is not None:
            answered = self._answer(text, heard, now)
            if answered is not None:
                return answered
        if not self.listening:
            return self._while_stopped(text, heard, now)
        if self.in_call and not heard.woken:
            return NoCommand(text)
        if heard.wake_only:
            self._woken, self._woken_at = True, now
            return NotUnderstoodCommand(text, WAKE_ONLY_REPLY)
        # Without the wake phrase on the intake page, only a reply that is exactly a
        # command is one: "Yes. Not so loud." or "Louder than before" answer the question.
        free_speech = not heard.woken and self.page in FREE_SPEECH_PAGES
        action_id = self._commands.find(heard, strict=free_speech)
        if action_id is None:
            if free_speech:
                return NoCommand(text)  # an answer for the symptom questions, say
            return NotUnderstoodCommand(text, not_understood_hint(self.in_call, self.wake_phrase))
        return self._command(get_action(action_id), text, now)

    def _take_wake(self, now: float | None) -> bool:
        woken, self._woken = self._woken, False
        if not woken:
            return False
        return now is None or self._woken_at is None or now - self._woken_at <= WAKE_WINDOW_S

    def _answer(self, text: str, heard: Heard, now: float | None) -> CommandResult | None:
        pending = self._pending
        assert pending is not None
        self._pending = None
        expired = (
            now is not None
            and pending.asked_at is not None
            and now - pending.asked_at > CONFIRMATION_TIMEOUT_S
        )
        if expired:
            return None
        if heard.wake_only:
            self._pending = pending  # "assistant?": still waiting for the answer
            return NotUnderstoodCommand(text, pending.action.confirm or "")
        answer = self._answers.find(heard)
        if answer == "yes":
            return CommandMatch(pending.action.id, text, "perform")
        if answer == "no":
            return CommandMatch(pending.action.id, text, "cancel", pending.action.cancelled)
        return None  # something else: the question is dropped, the utterance goes on

    def _while_stopped(self, text: str, heard: Heard, now: float | None) -> CommandResult:
        if heard.wake_only:
            self._woken, self._woken_at = True, now  # silently: we are not listening
            return NoCommand(text)
        if (self.in_call and not heard.woken) or self._resume.find(heard) is None:
            return NoCommand(text)
        self.listening = True
        return CommandMatch("start_listening", text, "perform", LISTENING_AGAIN)

    def _command(self, action: Action, text: str, now: float | None) -> CommandMatch:
        if action.confirm is not None:
            self._pending = _Pending(action, now)
            return CommandMatch(action.id, text, "confirm", action.confirm)
        return self._perform(action, text)

    def _perform(self, action: Action, text: str) -> CommandMatch:
        say: str | None = None
        if action.id == "help":
            say = self.help_text()
        elif action.id == "where_am_i":
            say = where_am_i_text(self.page)
        elif action.id == "stop_listening":
            self.set_listening(False)
            say = stopped_listening_text(self.in_call, self.wake_phrase)
        elif action.id == "start_listening":
            self.set_listening(True)
            say = LISTENING_AGAIN
        return CommandMatch(action.id, text, "perform", say)
