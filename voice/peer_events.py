"""What the assistant peer reports: typed events for the app, JSON messages for the browser.

The app gets `PeerEvent`s (through a callback or a queue); the participant's browser gets
the same events as JSON text on the "assistant" data channel. `event_message` is the only
place that turns an event into that JSON, so the wire format is defined here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from voice.errors import VoiceError
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
    """A JSON object with a string `type` that the browser sent on the data channel."""

    type: str
    payload: dict[str, Any]


# Browser messages are small commands ("page", "say", "ask"); anything longer is refused.
MAX_CLIENT_MESSAGE_CHARS = 4096


def parse_client_message(data: object) -> ClientMessage | None:
    """`data` received on the data channel as a `ClientMessage`, or None when it is not one
    (bytes, too long, not JSON, not an object with a non-empty string `type`)."""
    if not isinstance(data, str) or len(data) > MAX_CLIENT_MESSAGE_CHARS:
        return None
    try:
        payload = json.loads(data)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    kind = payload.get("type")
    if not isinstance(kind, str) or not kind:
        return None
    return ClientMessage(kind, payload)


PeerEvent = Recognized | AudioDropped | SpeechStarted | SpeechFinished | ClientMessage | PeerClosed


def _seconds(value: float) -> float:
    return round(value, 3)


def _word(word: Word) -> dict[str, Any]:
    return {
        "text": word.text,
        "start_s": _seconds(word.start_s),
        "end_s": _seconds(word.end_s),
        "confidence": round(word.confidence, 3),
    }


def _recognition_payload(event: RecognitionEvent) -> dict[str, Any]:
    if isinstance(event, Partial):
        return {"type": "partial", "text": event.text}
    if isinstance(event, Final):
        return {
            "type": "final",
            "text": event.text,
            "start_s": _seconds(event.start_s),
            "end_s": _seconds(event.end_s),
            "confidence": round(event.confidence, 3),
            "words": [_word(word) for word in event.words],
        }
    return {
        "type": "not_understood",
        "heard": event.heard,
        "start_s": _seconds(event.start_s),
        "end_s": _seconds(event.end_s),
    }


def _payload(event: PeerEvent) -> dict[str, Any] | None:
    if isinstance(event, Recognized):
        return _recognition_payload(event.event)
    if isinstance(event, AudioDropped):
        return {
            "type": "audio_dropped",
            "seconds": _seconds(event.seconds),
            "total_s": _seconds(event.total_s),
        }
    if isinstance(event, SpeechStarted):
        return {"type": "speaking", "text": event.text}
    if isinstance(event, SpeechFinished):
        return {"type": "spoken", "text": event.text, "interrupted": event.interrupted}
    return None  # PeerClosed: the channel is going away; ClientMessage: the browser sent it


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    if isinstance(value, list):
        return all(_finite(item) for item in value)
    return True


def event_message(event: PeerEvent) -> str | None:
    """The data-channel JSON text for `event`, or None when it has none to send.

    Messages: `partial {text}`, `final {text, start_s, end_s, confidence, words}`,
    `not_understood {heard, start_s, end_s}`, `audio_dropped {seconds, total_s}`,
    `speaking {text}`, `spoken {text, interrupted}`. A message with a NaN or infinite number
    is not sent (JSON has no such numbers).
    """
    payload = _payload(event)
    if payload is None or not _finite(payload):
        return None
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
