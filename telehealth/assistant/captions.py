"""Live captions: a participant's recognized speech, to everyone in the visit and to storage.

Partials are throttled (they replace each other in place, so a few a second is enough);
finals always go out. Captions are shown live only and never enter the visit's room log;
finals are stored as the transcript when the patient consented (the sink decides).

A final is normalized once (`caption_text`: snippet markers out, trimmed, at most
`MAX_CAPTION_CHARS`) into a `FinalSegment`; the live caption and the stored segment are
both made from it, so they hold the same text. The sink only queues the segment (a
`QueuedWriter` stores it), so the peer's event dispatcher never waits on the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from signaling.hub import RoomHub
from signaling.peers import PeerInfo
from signaling.server_messages import MAX_CAPTION_CHARS, Caption
from telehealth.transcripts.store import clean_text
from voice.peer_events import PeerEvent, Recognized
from voice.recognition import EngineInfo, Final, Partial, Word

log = logging.getLogger("telehealth.captions")

PARTIAL_INTERVAL_S = 0.5


def caption_text(text: str) -> str:
    """Recognized text as it is shown and stored: the one normalization of a caption."""
    return clean_text(text, MAX_CAPTION_CHARS)


@dataclass(frozen=True, slots=True)
class FinalSegment:
    """A final caption, normalized (`text` is `caption_text`'s), with times relative to the
    start of the call: what is shown live and what is stored."""

    visit_id: str
    speaker: PeerInfo
    segment_id: str
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...]
    confidence: float
    engine: EngineInfo


# Takes a segment to store without waiting (it queues it): the dispatcher calls it inline.
SegmentSink = Callable[[FinalSegment], None]


class CaptionRelay:
    """The assistant peer's event consumer in captions mode."""

    def __init__(
        self,
        hub: RoomHub,
        visit_id: str,
        speaker: PeerInfo,
        engine: EngineInfo,
        *,
        call_started_at: datetime | None,
        sink: SegmentSink | None = None,
    ) -> None:
        self.hub = hub
        self.visit_id = visit_id
        self.speaker = speaker
        self.engine = engine
        self.sink = sink
        self._call_start = call_started_at.timestamp() if call_started_at else None
        self._segment = 0
        self._last_partial = 0.0
        self._last_partial_text = ""

    def _segment_id(self) -> str:
        return f"{self.speaker.peer_id}-{self._segment}"

    def _call_time(self, event: Recognized, stream_s: float) -> float:
        # The wall time at which the stream was at `stream_s`, relative to the call's start.
        stream_start = event.wall_time - event.audio_s
        if self._call_start is None:
            self._call_start = stream_start
        return max(0.0, stream_start + stream_s - self._call_start)

    async def __call__(self, event: PeerEvent) -> None:
        if not isinstance(event, Recognized):
            return
        recognized = event.event
        if isinstance(recognized, Partial):
            await self._partial(event, recognized)
        elif isinstance(recognized, Final):
            await self._final(event, recognized)

    async def _partial(self, event: Recognized, partial: Partial) -> None:
        text = caption_text(partial.text)
        if not text or text == self._last_partial_text:
            return
        if event.wall_time - self._last_partial < PARTIAL_INTERVAL_S:
            return
        self._last_partial = event.wall_time
        self._last_partial_text = text
        at = self._call_time(event, event.audio_s)
        await self._publish(text, final=False, start_s=at, end_s=at)

    async def _final(self, event: Recognized, final: Final) -> None:
        text = caption_text(final.text)
        if not text:
            return
        segment = FinalSegment(
            visit_id=self.visit_id,
            speaker=self.speaker,
            segment_id=self._segment_id(),
            start_s=self._call_time(event, final.start_s),
            end_s=self._call_time(event, final.end_s),
            text=text,
            words=tuple(final.words),
            confidence=final.confidence,
            engine=self.engine,
        )
        self._segment += 1
        self._last_partial_text = ""
        await self._publish(
            segment.text,
            final=True,
            start_s=segment.start_s,
            end_s=segment.end_s,
            segment_id=segment.segment_id,
        )
        if self.sink is not None:
            self.sink(segment)  # queued, never awaited: the database may be slow

    async def _publish(
        self, text: str, *, final: bool, start_s: float, end_s: float, segment_id: str | None = None
    ) -> None:
        caption = Caption(
            speaker=self.speaker.peer_id,
            speaker_name=self.speaker.name,
            text=text,  # already caption_text's: within the message's limit
            final=final,
            segment_id=segment_id or self._segment_id(),
            start_s=round(start_s, 3),
            end_s=round(end_s, 3),
        )
        await self.hub.inject_caption(self.visit_id, caption)
