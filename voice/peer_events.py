"""What the assistant peer reports: typed events for the app, JSON messages for the browser.

The app gets `PeerEvent`s (through a callback or a queue); the participant's browser gets
the same events as JSON text on the "assistant" data channel when it subscribed to them.
`event_channel_message` is the only place that turns an event into a message; the messages
themselves are defined in `voice.peer_messages`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from voice.errors import VoiceError
from voice.peer_messages import (
    AudioDroppedEvent,
    ChannelMessage,
    FinalEvent,
    NotUnderstoodEvent,
    PartialEvent,
    SpeakingEvent,
    SpokenEvent,
    WordTiming,
)
from voice.recognition import Final, Partial, RecognitionEvent, Word

__all__ = [
    "AssistantPeerError",
    "AudioDropped",
    "ClientMessage",
    "PeerClosed",
    "PeerEvent",
    "Recognized",
    "SpeechFinished",
    "SpeechStarted",
    "event_channel_message",
    "event_message",
]


class AssistantPeerError(VoiceError):
    """The assistant peer cannot do what was asked (bad offer, closed, no synthesizer...).

    Defined here until the lead adds it to `voice.errors`.
    """


@dataclass(frozen=True, slots=True)
class Recognized:
    """A recognition event from the participant's microphone.

    Times in `event` (a Final's or NotUnderstood's `start_s`/`end_s` and word times) are
    seconds of the participant's audio since its first frame, counting audio that was dropped
    under load, so they stay comparable across recognizer restarts. `audio_s` is how much of
    that audio had been fed when the event came out; `wall_time` is `time.time()` then.
    """

    event: RecognitionEvent
    audio_s: float
    wall_time: float


@dataclass(frozen=True, slots=True)
class AudioDropped:
    """Recognition fell behind and the oldest `seconds` of queued audio were discarded."""

    seconds: float
    total_s: float


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """A prompt started playing on the outgoing track."""

    text: str


@dataclass(frozen=True, slots=True)
class SpeechFinished:
    """A prompt stopped playing: it ended, or a newer prompt (or `stop_speaking`) cut it."""

    text: str
    interrupted: bool


@dataclass(frozen=True, slots=True)
class PeerClosed:
    """The peer shut down (`reason`: "closed", "connection failed", "recognition failed"...)."""

    reason: str


@dataclass(frozen=True, slots=True)
class ClientMessage:
    """A message the page sent on the data channel, parsed with the model of its `type`
    (one of the app's `client_messages`, see `voice.peer_messages`)."""

    message: ChannelMessage

    @property
    def type(self) -> str:
        return self.message.type


PeerEvent = Recognized | AudioDropped | SpeechStarted | SpeechFinished | ClientMessage | PeerClosed


def _seconds(value: float) -> float:
    return round(value, 3)


def _word(word: Word) -> WordTiming:
    return WordTiming(
        text=word.text,
        start_s=_seconds(word.start_s),
        end_s=_seconds(word.end_s),
        confidence=round(word.confidence, 3),
    )


def _recognition_message(event: RecognitionEvent) -> ChannelMessage:
    if isinstance(event, Partial):
        return PartialEvent(text=event.text)
    if isinstance(event, Final):
        return FinalEvent(
            text=event.text,
            start_s=_seconds(event.start_s),
            end_s=_seconds(event.end_s),
            confidence=round(event.confidence, 3),
            words=[_word(word) for word in event.words],
        )
    return NotUnderstoodEvent(
        heard=event.heard, start_s=_seconds(event.start_s), end_s=_seconds(event.end_s)
    )


def _message(event: PeerEvent) -> ChannelMessage | None:
    if isinstance(event, Recognized):
        return _recognition_message(event.event)
    if isinstance(event, AudioDropped):
        return AudioDroppedEvent(seconds=_seconds(event.seconds), total_s=_seconds(event.total_s))
    if isinstance(event, SpeechStarted):
        return SpeakingEvent(text=event.text)
    if isinstance(event, SpeechFinished):
        return SpokenEvent(text=event.text, interrupted=event.interrupted)
    return None  # PeerClosed: the channel is going away; ClientMessage: the browser sent it


def event_channel_message(event: PeerEvent) -> ChannelMessage | None:
    """The data-channel message for `event`, or None when it has none (or a number in it is
    NaN or infinite: JSON has no such numbers)."""
    try:
        return _message(event)
    except ValidationError:
        return None


def event_message(event: PeerEvent) -> str | None:
    """The data-channel JSON text for `event`, or None when it has none to send.

    Messages (models in `voice.peer_messages`): `partial {text}`, `final {text, start_s,
    end_s, confidence, words}`, `not_understood {heard, start_s, end_s}`, `audio_dropped
    {seconds, total_s}`, `speaking {text}`, `spoken {text, interrupted}`.
    """
    message = event_channel_message(event)
    return None if message is None else message.to_json()
