"""Final captions into the visit's transcript (stored only with the patient's consent).

A `QueuedWriter`: the caption relay queues each final segment and goes on at once, and one
writer task stores them in order, each in its own transaction. A full queue drops the
segment (logged with its visit, counted by the metrics); a failed write is logged by type.
"""

from __future__ import annotations

import logging

from telehealth.assistant.captions import FinalSegment
from telehealth.queued_writer import QUEUE_BOUND, QueuedWriter
from telehealth.storage import Database
from telehealth.transcripts.store import store_final_segment

log = logging.getLogger("telehealth.captions")


class TranscriptWriter(QueuedWriter[FinalSegment]):
    """The caption relay's `SegmentSink`: call it with a segment to have it stored."""

    name = "transcript-writer"

    def __init__(self, database: Database, *, bound: int = QUEUE_BOUND) -> None:
        super().__init__(log, bound=bound)
        self.database = database

    def __call__(self, segment: FinalSegment) -> None:
        self.submit(segment)

    def describe(self, item: FinalSegment) -> dict[str, object]:
        return {"visit_id": item.visit_id, "segment_id": item.segment_id}

    async def write(self, item: FinalSegment) -> None:
        await store_final_segment(
            self.database,
            item.visit_id,
            speaker_role=item.speaker.role,
            speaker_name=item.speaker.name,
            speaker_peer_id=item.speaker.peer_id,
            start_s=item.start_s,
            end_s=item.end_s,
            text=item.text,
            words=item.words,
            confidence=item.confidence,
            engine=item.engine.engine,
            model=item.engine.model,
            language=item.engine.language,
        )
