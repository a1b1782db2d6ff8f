"""The clinician's transcripts: list, read, search, correct, history, export."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse

from telehealth.api.audited_reads import record_read, refused_read
from telehealth.auth.deps import CurrentClinician
from telehealth.deps import SessionDep, SettingsDep
from telehealth.transcripts.errors import (
    InvalidCorrection,
    SegmentNotFound,
    TranscriptError,
    TranscriptNotFound,
)
from telehealth.transcripts.export import (
    ExportFormat,
    transcript_to_srt,
    transcript_to_text,
    transcript_to_webvtt,
)
from telehealth.transcripts.fhir import transcript_to_document_reference
from telehealth.transcripts.review import (
    correct_segment,
    get_transcript,
    list_transcripts,
    segment_history,
)
from telehealth.transcripts.schemas import (
    CorrectionRequest,
    SearchResults,
    SegmentHistory,
    SegmentOut,
    TranscriptList,
    TranscriptOut,
)
from telehealth.transcripts.search import search_transcripts

router = APIRouter(prefix="/api/transcripts", tags=["transcripts"])

MEDIA_TYPES: dict[str, str] = {
    "vtt": "text/vtt; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "fhir": "application/fhir+json",
}
EXTENSIONS = {"vtt": "vtt", "srt": "srt", "txt": "txt", "fhir": "json"}


def _not_found_message(error: TranscriptError) -> str:
    if isinstance(error, SegmentNotFound):
        return "no such segment in this transcript"
    return "no such visit"


def _not_found(error: TranscriptError) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, _not_found_message(error))


def _refused(
    session: SessionDep,
    clinician: CurrentClinician,
    action: str,
    visit_id: str,
    error: TranscriptError,
    detail: dict[str, Any] | None = None,
) -> JSONResponse:
    return refused_read(
        session,
        clinician,
        action,
        visit_id=visit_id,
        status_code=status.HTTP_404_NOT_FOUND,
        message=_not_found_message(error),
        detail=detail,
    )


def _clinician_id(clinician: CurrentClinician) -> str:
    assert clinician.clinician_id is not None
    return clinician.clinician_id


@router.get("")
async def list_(clinician: CurrentClinician, session: SessionDep) -> TranscriptList:
    """The clinician's visits that have a transcript or chat, newest first."""
    listed = await list_transcripts(session, _clinician_id(clinician))
    record_read(session, clinician, "transcript.listed", detail={"visits": len(listed)})
    return TranscriptList(transcripts=listed)


@router.get("/search")
async def search(
    clinician: CurrentClinician,
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=200)],
) -> SearchResults:
    """Segments of the clinician's transcripts whose current text has all the words of `q`."""
    hits = await search_transcripts(session, _clinician_id(clinician), q)
    # The words searched for may themselves be PHI: only how many segments matched.
    record_read(session, clinician, "transcript.searched", detail={"hits": len(hits)})
    return SearchResults(query=q, hits=hits)


@router.get("/{visit_id}", response_model=TranscriptOut)
async def read(
    visit_id: str, clinician: CurrentClinician, session: SessionDep
) -> TranscriptOut | JSONResponse:
    """One transcript: segments (current text, words, confidence), consent and chat."""
    try:
        transcript = await get_transcript(session, visit_id, _clinician_id(clinician))
    except TranscriptNotFound as error:
        return _refused(session, clinician, "transcript.viewed", visit_id, error)
    record_read(session, clinician, "transcript.viewed", visit_id=visit_id)
    return transcript


@router.put("/{visit_id}/segments/{segment_id}")
async def correct(
    visit_id: str,
    segment_id: int,
    body: CorrectionRequest,
    clinician: CurrentClinician,
    session: SessionDep,
) -> SegmentOut:
    """Correct a segment's text; the recognized text and earlier corrections are kept."""
    try:
        return await correct_segment(
            session, visit_id, segment_id, _clinician_id(clinician), body.text
        )
    except (TranscriptNotFound, SegmentNotFound) as error:
        raise _not_found(error) from None
    except InvalidCorrection as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None


@router.get("/{visit_id}/segments/{segment_id}/history", response_model=SegmentHistory)
async def history(
    visit_id: str, segment_id: int, clinician: CurrentClinician, session: SessionDep
) -> SegmentHistory | JSONResponse:
    """A segment's recognized text and every correction, oldest first."""
    action, detail = "transcript.history_viewed", {"segment_id": segment_id}
    try:
        found = await segment_history(session, visit_id, segment_id, _clinician_id(clinician))
    except (TranscriptNotFound, SegmentNotFound) as error:
        return _refused(session, clinician, action, visit_id, error, detail)
    record_read(session, clinician, action, visit_id=visit_id, detail=detail)
    return found


@router.get("/{visit_id}/export")
async def export(
    visit_id: str,
    clinician: CurrentClinician,
    session: SessionDep,
    settings: SettingsDep,
    format_: Annotated[ExportFormat, Query(alias="format")] = "vtt",
) -> Response:
    """Download the transcript (corrected text) as WebVTT, SRT, text or FHIR JSON."""
    clinician_id = _clinician_id(clinician)
    try:
        transcript = await get_transcript(session, visit_id, clinician_id)
    except TranscriptNotFound as error:
        return _refused(
            session, clinician, "transcript.exported", visit_id, error, {"format": format_}
        )
    if format_ == "vtt":
        body = transcript_to_webvtt(transcript)
    elif format_ == "srt":
        body = transcript_to_srt(transcript)
    elif format_ == "txt":
        body = transcript_to_text(transcript, clinician_name=clinician.display_name)
    else:
        document = transcript_to_document_reference(
            transcript,
            clinician_name=clinician.display_name,
            identifier_system=f"{settings.public_base_url}/identifiers/visit",
        )
        body = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    record_read(
        session, clinician, "transcript.exported", visit_id=visit_id, detail={"format": format_}
    )
    filename = f"transcript-{visit_id}.{EXTENSIONS[format_]}"
    return Response(
        content=body,
        media_type=MEDIA_TYPES[format_],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
