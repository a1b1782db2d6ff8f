"""A transcript as a FHIR R4 DocumentReference (built and validated with fhir.resources R4B,
whose DocumentReference has the R4 shape).

Type: LOINC 11488-4 "Consult note". A verbatim record of both sides of a visit is not
"Physician Note" (75476-2, authored by the physician) and the generic 34109-9 "Note" tells a
receiving record system little; a telehealth visit is a consultation, and 11488-4 is one of
the clinical-note types US Core asks servers to support, so other systems file it sensibly.
`type.text` says what it really is. There is no Patient resource here: the visit is named by
an identifier in `context.encounter`, and the document by a `urn:uuid:` derived from it.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from fhir.resources.R4B.documentreference import DocumentReference
from pydantic import ValidationError

from telehealth.storage.models import VisitStatus
from telehealth.transcripts.errors import ExportFailed
from telehealth.transcripts.export import transcript_to_text, transcript_to_webvtt
from telehealth.transcripts.schemas import TranscriptOut

LOINC = "http://loinc.org"
DOCUMENT_TYPE = {"system": LOINC, "code": "11488-4", "display": "Consult note"}
US_CORE_CATEGORY = {
    "system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
    "code": "clinical-note",
    "display": "Clinical Note",
}


def _attachment(body: str, content_type: str, title: str, language: str | None) -> dict[str, Any]:
    data = body.encode("utf-8")
    attachment: dict[str, Any] = {
        "contentType": content_type,
        "data": base64.b64encode(data).decode("ascii"),
        "size": len(data),
        "hash": base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"),  # FHIR defines SHA-1
        "title": title,
    }
    if language:
        attachment["language"] = language
    return attachment


def _language(transcript: TranscriptOut) -> str | None:
    counts = Counter(segment.language for segment in transcript.segments if segment.language)
    return counts.most_common(1)[0][0] if counts else None


def last_changed(transcript: TranscriptOut) -> datetime:
    """When the content last changed: a new segment, a correction or a chat line."""
    times = [transcript.visit.scheduled_at]
    times += [segment.created_at for segment in transcript.segments]
    times += [segment.edited_at for segment in transcript.segments if segment.edited_at]
    times += [message.sent_at for message in transcript.chat]
    return max(times)


def document_uuid(visit_id: str) -> str:
    """A stable document id: the same visit always exports as the same document."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'telehealth-transcript:{visit_id}')}"


def transcript_to_document_reference(
    transcript: TranscriptOut, *, clinician_name: str, identifier_system: str
) -> dict[str, Any]:
    """A validated DocumentReference (JSON-ready) with the transcript as two attachments:
    plain text (with chat) and WebVTT. `identifier_system` names the visit ids' namespace."""
    visit = transcript.visit
    language = _language(transcript)
    changed = last_changed(transcript)
    visit_reference = {
        "type": "Encounter",
        "identifier": {"system": identifier_system, "value": visit.visit_id},
        "display": "Video visit",
    }
    period: dict[str, str] = {}
    if visit.started_at:
        period["start"] = visit.started_at.isoformat()
    if visit.ended_at:
        period["end"] = visit.ended_at.isoformat()
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": document_uuid(visit.visit_id)},
        "status": "current",
        "docStatus": "final" if visit.status == VisitStatus.ended else "preliminary",
        "type": {"coding": [DOCUMENT_TYPE], "text": "Video visit transcript (captions)"},
        "category": [{"coding": [US_CORE_CATEGORY]}],
        "date": changed.isoformat(),
        "author": [{"type": "Practitioner", "display": " ".join(clinician_name.split())}],
        "description": (
            "Captions of a video visit made by on-premise speech recognition, "
            "with the clinician's corrections applied."
        ),
        "content": [
            {
                "attachment": _attachment(
                    transcript_to_text(transcript, clinician_name=clinician_name),
                    "text/plain; charset=utf-8",
                    "Visit transcript (text)",
                    language,
                )
            },
            {
                "attachment": _attachment(
                    transcript_to_webvtt(transcript),
                    "text/vtt",
                    "Visit transcript (WebVTT captions)",
                    language,
                )
            },
        ],
        "context": {"encounter": [visit_reference]},
    }
    if period:
        resource["context"]["period"] = period
    try:
        model = DocumentReference.model_validate(resource)
    except ValidationError as error:  # a bug in this module, not a user error
        raise ExportFailed(f"built an invalid DocumentReference: {error}") from error
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return data
