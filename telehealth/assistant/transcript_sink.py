"""Final captions into the visit's transcript (stored only with the patient's consent)."""

from __future__ import annotations

import logging

from telehealth.assistant.captions import FinalSegment
from telehealth.storage import Database
from telehealth.transcripts.store import store_final_segment

log = logging.getLogger("telehealth.captions")


class TranscriptSink:
    """Writes each final segment in its own transaction, as soon as it is final."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def __call__(self, segment: FinalSegment) -> None:
        try:
            await store_final_segment(
                self.database,
                segment.visit_id,
                speaker_role=segment.speaker.role,
                speaker_name=segment.speaker.name,
                speaker_peer_id=segment.speaker.peer_id,
                start_s=segment.start_s,
                end_s=segment.end_s,
                text=segment.final.text.strip(),
                words=segment.final.words,
                confidence=segment.final.confidence,
                engine=segment.engine.engine,
                model=segment.engine.model,
                language=segment.engine.language,
            )
        except Exception:
            # The caption already went out live; a failed write must not stop captions.
            log.exception("storing a caption segment failed", extra={"visit_id": segment.visit_id})
