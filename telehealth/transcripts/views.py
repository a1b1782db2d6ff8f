"""Rows to response models: one place that decides what "current text" means."""

from __future__ import annotations

from typing import Any

from telehealth.storage.models import ChatMessage, SegmentEdit, TranscriptSegment
from telehealth.transcripts.schemas import ChatMessageOut, SegmentOut, WordOut


def _words(stored: list[dict[str, Any]]) -> list[WordOut]:
    words: list[WordOut] = []
    for item in stored:
        try:
            words.append(WordOut.model_validate(item))
        except ValueError:
            continue  # a malformed word is dropped from the view, the row stays as stored
    return words


def segment_out(segment: TranscriptSegment, latest_edit: SegmentEdit | None) -> SegmentOut:
    """The segment with its current text: the newest correction, else the recognized text."""
    return SegmentOut(
        id=segment.id,
        visit_id=segment.visit_id,
        speaker_role=segment.speaker_role,
        speaker_name=segment.speaker_name,
        speaker_peer_id=segment.speaker_peer_id,
        start_s=segment.start_s,
        end_s=segment.end_s,
        text=latest_edit.edited_text if latest_edit else segment.text,
        original_text=segment.text,
        edited=latest_edit is not None,
        edited_at=latest_edit.edited_at if latest_edit else None,
        words=_words(segment.words),
        confidence=segment.confidence,
        engine=segment.engine,
        model=segment.model,
        language=segment.language,
        created_at=segment.created_at,
    )


def chat_out(message: ChatMessage) -> ChatMessageOut:
    return ChatMessageOut(
        id=message.id,
        visit_id=message.visit_id,
        sender_role=message.sender_role,
        sender_name=message.sender_name,
        text=message.text,
        sent_at=message.sent_at,
    )
