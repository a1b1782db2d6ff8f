"""Consent to storing captions: the patient answers, the clinician sees the answer."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from telehealth.auth.deps import CurrentClinician, CurrentPatient
from telehealth.deps import SessionDep
from telehealth.transcripts.consent import consent_state, record_consent
from telehealth.transcripts.errors import TranscriptNotFound
from telehealth.transcripts.review import own_visit
from telehealth.transcripts.schemas import ConsentOut, ConsentRequest

router = APIRouter(tags=["consent"])


@router.put("/api/patient/consent")
async def answer(body: ConsentRequest, patient: CurrentPatient, session: SessionDep) -> ConsentOut:
    """Say whether captions of this visit may be saved as a transcript (may change later)."""
    assert patient.visit_id is not None
    try:
        return await record_consent(
            session, patient.visit_id, transcript=body.transcript, session_hash=patient.session_hash
        )
    except TranscriptNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this visit no longer exists") from None


@router.get("/api/patient/consent")
async def my_answer(patient: CurrentPatient, session: SessionDep) -> ConsentOut:
    """The patient's current answer for this visit."""
    assert patient.visit_id is not None
    return await consent_state(session, patient.visit_id)


@router.get("/api/visits/{visit_id}/consent")
async def visit_consent(
    visit_id: str, clinician: CurrentClinician, session: SessionDep
) -> ConsentOut:
    """The patient's answer for one of the clinician's visits, with its history."""
    assert clinician.clinician_id is not None
    try:
        await own_visit(session, visit_id, clinician.clinician_id)
    except TranscriptNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such visit") from None
    return await consent_state(session, visit_id)
