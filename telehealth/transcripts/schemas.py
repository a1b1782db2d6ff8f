"""What the transcript service returns, and the HTTP API sends as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from telehealth.storage.models import VisitStatus

MAX_CORRECTION_CHARS = 5000

ConsentAnswer = Literal["granted", "declined", "not_asked"]


class ConsentChange(BaseModel):
    """One answer the patient gave, from the audit trail."""

    transcript: bool
    at: datetime


class ConsentOut(BaseModel):
    """Whether captions of a visit may be stored, and when the patient said so."""

    visit_id: str
    transcript: bool
    state: ConsentAnswer
    decided_at: datetime | None
    history: list[ConsentChange] = Field(default_factory=list)


class ConsentRequest(BaseModel):
    transcript: bool


class WordOut(BaseModel):
    text: str
    start_s: float
    end_s: float
    confidence: float


class SegmentOut(BaseModel):
    """A segment as the clinician sees it: `text` is the current text (latest correction)."""

    id: int
    visit_id: str
    speaker_role: str
    speaker_name: str
    speaker_peer_id: str
    start_s: float
    end_s: float
    text: str
    original_text: str
    edited: bool
    edited_at: datetime | None
    # Words of the recognized (original) text, with the recognizer's confidence.
    words: list[WordOut]
    confidence: float | None
    engine: str
    model: str
    language: str
    created_at: datetime


class ChatMessageOut(BaseModel):
    id: int
    visit_id: str
    sender_role: str
    sender_name: str
    text: str
    sent_at: datetime


class CorrectionRequest(BaseModel):
    text: str = Field(max_length=MAX_CORRECTION_CHARS)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the corrected text is empty")
        return value


class EditOut(BaseModel):
    id: int
    segment_id: int
    text: str
    editor_id: str
    editor_name: str
    edited_at: datetime


class SegmentHistory(BaseModel):
    """The recognized text, then every correction, oldest first; the last one is current."""

    segment_id: int
    visit_id: str
    original_text: str
    recognized_at: datetime
    engine: str
    model: str
    edits: list[EditOut]


class VisitSummary(BaseModel):
    visit_id: str
    scheduled_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    status: VisitStatus
    patient_label: str
    consent: ConsentAnswer
    segment_count: int
    chat_count: int


class TranscriptList(BaseModel):
    transcripts: list[VisitSummary]


class TranscriptOut(BaseModel):
    visit: VisitSummary
    consent: ConsentOut
    segments: list[SegmentOut]
    chat: list[ChatMessageOut]


class SearchHit(BaseModel):
    """A segment whose current text matches; `marks` are [start, end) offsets in `snippet`."""

    visit_id: str
    scheduled_at: datetime
    patient_label: str
    segment_id: int
    speaker_name: str
    speaker_role: str
    start_s: float
    snippet: str
    marks: list[tuple[int, int]]


class SearchResults(BaseModel):
    query: str
    hits: list[SearchHit]
