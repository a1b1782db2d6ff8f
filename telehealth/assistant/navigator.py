"""Voice navigation: the assistant peer in commands mode, for one person on the patient pages.

The page says where the person is and what it asks; the navigator listens with that page's
phrase list (`CommandMatcher`), speaks in the person's voice preferences, and tells the page
which action to perform. The page performs it with the same handler as the button and the
shortcut (`web/js/actions.js`) and speaks the outcome back through `say`.

Data-channel messages (typed in `telehealth.assistant.channel_messages`, parsed by the peer):
from the page `page`, `say`, `ask` (the next reply answers the question; commands said
exactly still work meanwhile) and `perform` (an assistant action done by key or click); to
the page `command`, `answer`, `voice_preferences`, `listening` and `hint`. The actions the
assistant carries out itself are the registry's `performed_by_assistant` ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from telehealth.assistant.behaviour import QueuedBehaviour, heard_text
from telehealth.assistant.channel_messages import (
    AnswerMessage,
    AskMessage,
    CommandMessage,
    Expects,
    HintMessage,
    ListeningMessage,
    PageMessage,
    PerformMessage,
    SayMessage,
    VoicePreferencesMessage,
)
from telehealth.navigation import (
    CommandMatch,
    CommandMatcher,
    NotUnderstoodCommand,
    VoicePreferences,
    apply_preference,
)
from telehealth.navigation.actions import ASSISTANT_ACTIONS
from telehealth.navigation.answers import spoken_name, yes_or_no
from telehealth.navigation.preferences import PREFERENCE_ACTIONS
from voice.errors import VoiceError
from voice.peer_events import ClientMessage, PeerEvent
from voice.peer_messages import ChannelMessage

log = logging.getLogger("telehealth.navigation.voice")

QUEUE_BOUND = 32
MAX_SAY_CHARS = 600
YES_OR_NO_HINT = "Please say yes or no."
NAME_HINT = "Sorry, I did not catch a name. Please say your name again."
# The symptom dialogue answers these itself on the intake page (it has its own help).
DIALOGUE_ACTIONS = frozenset({"help", "repeat"})
# Actions the navigator carries out itself (the registry says which); the page only shows
# that they happened.
SPOKEN_ACTIONS = ASSISTANT_ACTIONS


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    expects: Expects


class VoiceNavigator(QueuedBehaviour[ClientMessage | str]):
    """The event consumer of a commands-mode assistant peer: the page's messages and the
    person's utterances, in order."""

    name = "voice-navigator"
    way_on = "Please say that again, or carry on with the keyboard."

    def __init__(
        self,
        page: str = "join",
        *,
        wake_phrase: str = "assistant",
        preferences: VoicePreferences | None = None,
        clock: Callable[[], float] = time.monotonic,
        visit_id: str | None = None,
    ) -> None:
        super().__init__(bound=QUEUE_BOUND, preferences=preferences, visit_id=visit_id)
        self.matcher = CommandMatcher(page, wake_phrase=wake_phrase)
        self.question: Question | None = None
        self.last_said = ""
        self._clock = clock

    def phrases(self) -> list[str] | None:
        """What the recognizer listens for now: dictation for a name or free text, else the
        page's commands (and yes or no while a yes/no question is open)."""
        question = self.question
        if question is not None and question.expects != "yes_no":
            return None
        return self.matcher.phrases(answering=question is not None)

    def accept(self, event: PeerEvent) -> ClientMessage | str | None:
        return event if isinstance(event, ClientMessage) else heard_text(event)

    async def handle(self, item: ClientMessage | str) -> None:
        try:
            if isinstance(item, ClientMessage):
                await self._on_message(item)
            else:
                await self._on_heard(item)
        except VoiceError as error:  # speech failed for one event; the next may work
            log.warning("voice navigation could not speak: %s", type(error).__name__)
        finally:  # also after an unexpected error (the worker's guard tells the person)
            self._update_phrases()

    def show_trouble(self, text: str) -> None:
        self._send(HintMessage(text=text, heard=""))

    def _update_phrases(self) -> None:
        peer = self.peer
        wanted = self.phrases()
        if peer is not None and not peer.closed and peer.phrases != wanted:
            peer.set_phrases(wanted)

    def _send(self, message: ChannelMessage) -> None:
        if self.peer is not None and not self.peer.closed:
            self.peer.send_message(message)

    async def say(self, text: str, *, interrupt: bool = True, remember: bool = True) -> None:
        """Speak `text`; `remember` it for "repeat"."""
        if remember and text.strip():
            self.last_said = text
        await super().say(text, interrupt=interrupt)

    # -- from the page ---------------------------------------------------------------------

    async def _on_message(self, received: ClientMessage) -> None:
        # The peer parsed it with one of NAVIGATOR_MESSAGES and refused anything else.
        message = received.message
        if isinstance(message, PageMessage):
            self.matcher.move_to(message.page, message.in_call)
            self.question = None
            await self.say(_text(message.say))
        elif isinstance(message, SayMessage):
            await self.say(_text(message.text), interrupt=message.interrupt)
        elif isinstance(message, AskMessage):
            self.question = Question(message.id, message.expects)
            await self.say(_text(message.prompt))
        elif isinstance(message, PerformMessage) and message.action in SPOKEN_ACTIONS:
            await self._perform(self.matcher.pressed(message.action), spoken=False)

    # -- from the microphone ---------------------------------------------------------------

    async def _on_heard(self, text: str) -> None:
        question = self.question
        if question is not None and self.matcher.listening and await self._answer(question, text):
            return
        result = self.matcher.match(text, now=self._clock())
        if isinstance(result, CommandMatch):
            await self._perform(result, spoken=True)
        elif isinstance(result, NotUnderstoodCommand):
            hint = YES_OR_NO_HINT if question is not None else result.hint
            self._send(HintMessage(text=hint, heard=text))
            await self.say(hint, remember=False)

    async def _answer(self, question: Question, text: str) -> bool:
        """Take `text` as the answer to `question` if it is one; True when it was."""
        # A command said exactly ("repeat", "what can I say") is a command, not an answer.
        if self.matcher.is_exact_command(text):
            return False
        value: bool | str | None
        if question.expects == "yes_no":
            value = yes_or_no(text, self.matcher.wake_phrase)
            if value is None:
                return False  # maybe a command; else the hint asks for yes or no
        elif question.expects == "name":
            value = spoken_name(text)
            if value is None:
                await self.say(NAME_HINT, remember=False)
                return True
        else:
            value = text.strip()
        self.question = None
        self._send(AnswerMessage(id=question.id, value=value, heard=text))
        return True

    async def _perform(self, match: CommandMatch, *, spoken: bool) -> None:
        action = match.action
        if self.matcher.page == "intake" and action in DIALOGUE_ACTIONS and spoken:
            return  # the symptom dialogue heard it too and answers it
        say = match.say
        if match.outcome == "perform" and action in PREFERENCE_ACTIONS:
            change = apply_preference(self.preferences, action)
            self.preferences = change.preferences
            self._send(
                VoicePreferencesMessage(
                    rate_wpm=self.preferences.rate_wpm, volume=self.preferences.volume
                )
            )
            say = change.say
        elif match.outcome == "perform" and action == "repeat":
            say = self.last_said or None
        if action in ("stop_listening", "start_listening"):
            self._send(ListeningMessage(listening=self.matcher.listening))
        self._send(
            CommandMessage(
                action=action, outcome=match.outcome, heard=match.heard, said=say is not None
            )
        )
        if say:
            await self.say(say, remember=action != "repeat")


def _text(value: str | None) -> str:
    return value.strip()[:MAX_SAY_CHARS] if value is not None else ""
