"""The app's messages on the assistant data channel (the peer's own are in
`voice.peer_messages`: `subscribe`, the recognition and speech events, `error`).

Page -> server, commands mode only (`NAVIGATOR_MESSAGES`; intake and captions accept none):
- `page {page, in_call?, say?}`: the person is now on `page` (a registry page); say `say`.
- `say {text, interrupt?}`: speak an announcement of the page (queued unless `interrupt`).
- `ask {id, expects, prompt}`: speak `prompt`; the next reply answers question `id`.
- `perform {action}`: an assistant action done by key or click (faster, stop listening...).

Server -> page: `command`, `answer`, `voice_preferences`, `listening`, `hint` (commands
mode) and `intake_turn` (intake mode). docs/protocol.md describes each with an example.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from telehealth.intake import Turn
from telehealth.intake.turn import Expectation, Stage
from telehealth.navigation import Page
from telehealth.navigation.commands import Outcome
from voice.peer_messages import ChannelMessage

# Announcements are cut to what is worth hearing (navigator.MAX_SAY_CHARS), so a long
# status is spoken rather than refused; the bound here only stops absurd sizes.
SpokenText = Annotated[str, Field(max_length=2000)]
ActionId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]
Expects = Literal["yes_no", "name", "text"]

# --- page -> server -----------------------------------------------------------------------


class PageMessage(ChannelMessage):
    type: Literal["page"] = "page"
    page: Page
    in_call: bool | None = None
    say: SpokenText | None = None


class SayMessage(ChannelMessage):
    type: Literal["say"] = "say"
    text: SpokenText
    interrupt: bool = False


class AskMessage(ChannelMessage):
    type: Literal["ask"] = "ask"
    id: Annotated[str, Field(min_length=1, max_length=64)]
    expects: Expects
    prompt: Annotated[SpokenText, Field(min_length=1)]


class PerformMessage(ChannelMessage):
    type: Literal["perform"] = "perform"
    action: ActionId


NAVIGATOR_MESSAGES: dict[str, type[ChannelMessage]] = {
    model.model_fields["type"].default: model
    for model in (PageMessage, SayMessage, AskMessage, PerformMessage)
}
"""What a page may send to the voice navigator (commands mode), by type."""

# --- server -> page -----------------------------------------------------------------------


class CommandMessage(ChannelMessage):
    """A command was recognized: perform `action` (outcome "perform"), or it was asked about
    ("confirm") or called off ("cancel"). `said`: the assistant spoke about it."""

    type: Literal["command"] = "command"
    action: str
    outcome: Outcome
    heard: str
    said: bool


class AnswerMessage(ChannelMessage):
    """The answer to the page's question `id`: a bool (yes_no) or the words (name, text)."""

    type: Literal["answer"] = "answer"
    id: str
    value: bool | str
    heard: str


class VoicePreferencesMessage(ChannelMessage):
    type: Literal["voice_preferences"] = "voice_preferences"
    rate_wpm: int
    volume: float


class ListeningMessage(ChannelMessage):
    type: Literal["listening"] = "listening"
    listening: bool


class HintMessage(ChannelMessage):
    """Speech that was no command on this page; `text` is what the assistant said back."""

    type: Literal["hint"] = "hint"
    text: str
    heard: str


class IntakeTurnMessage(ChannelMessage):
    """The next step of the symptom dialogue (what is asked, and how to answer it)."""

    type: Literal["intake_turn"] = "intake_turn"
    prompt: str
    stage: Stage
    link_id: str | None
    expects: Expectation
    phrases: list[str]
    new_flags: list[str]
    flags: list[str]
    urgent: bool
    offer_keyboard: bool
    done: bool

    @classmethod
    def of(cls, turn: Turn) -> IntakeTurnMessage:
        return cls(
            prompt=turn.prompt,
            stage=turn.stage,
            link_id=turn.link_id,
            expects=turn.expects,
            phrases=list(turn.phrases),
            new_flags=[flag.id for flag in turn.new_flags],
            flags=[flag.id for flag in turn.flags],
            urgent=turn.urgent,
            offer_keyboard=turn.offer_keyboard,
            done=turn.done,
        )


SERVER_MESSAGES: tuple[type[ChannelMessage], ...] = (
    CommandMessage,
    AnswerMessage,
    VoicePreferencesMessage,
    ListeningMessage,
    HintMessage,
    IntakeTurnMessage,
)
"""What the app sends the page (the peer adds its events and `error`)."""
