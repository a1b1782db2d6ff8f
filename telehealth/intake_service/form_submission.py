"""The keyboard path: a submitted form, read with the same parsers as the dialogue.

On success the completed QuestionnaireResponse becomes the visit's next version (earlier
versions are kept, see `records.add_version`) and the one clinicians see; an unfinished
dialogue is dropped, flags already raised are kept, and new flags alert the clinicians. An
incomplete form stores nothing, except that a phrase counting the moment it is said
(thoughts of self-harm) is recorded and alerted all the same, as the dialogue would: a
needless check-in is better than a missed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signaling.hub import RoomHub
from telehealth import audit
from telehealth.intake import (
    InvalidFormAnswers,
    ItemAnswer,
    RedFlag,
    answers_from_form,
    clinician_summary,
    to_questionnaire_response,
)
from telehealth.intake_service import records
from telehealth.intake_service.alerts import alert_clinicians, record_urgent
from telehealth.intake_service.errors import FormRejected
from telehealth.intake_service.runtime import IntakeRuntime
from telehealth.storage import Database
from telehealth.storage.models import IntakeResponse, new_id, utcnow

FormFields = Mapping[str, str | list[str]]


@dataclass(frozen=True, slots=True)
class FormOutcome:
    """A stored form: the response, every flag of the intake, what to tell the patient."""

    response: dict[str, Any]
    flags: tuple[RedFlag, ...]
    emergency_message: str | None

    @property
    def urgent(self) -> bool:
        return bool(self.flags)


async def submit_form(
    runtime: IntakeRuntime, database: Database, hub: RoomHub, visit_id: str, fields: FormFields
) -> FormOutcome:
    """Store a complete form, or raise `FormRejected` with a message per field."""
    now = utcnow()
    said = frozenset().union(*(runtime.checker.reply_findings(value) for value in _values(fields)))
    try:
        answers = answers_from_form(runtime.questionnaire, fields, now=now)
    except InvalidFormAnswers as invalid:
        raised = runtime.checker.evaluate({}, said) if said else ()
        if raised:
            await _record_flags_only(runtime, database, hub, visit_id, raised)
        raise FormRejected(
            invalid.errors, flags=raised, emergency_message=runtime.emergency_message(raised)
        ) from None
    raised = runtime.checker.evaluate(answers, said)

    async def store() -> tuple[dict[str, Any], tuple[RedFlag, ...], tuple[RedFlag, ...]]:
        async with database.session() as session:
            return await _store(runtime, session, visit_id, answers, raised, now)

    async with runtime.dialogues.locked(visit_id):
        response, flags, new_flags = await records.retrying(store)
        runtime.dialogues.drop(visit_id)
    if new_flags:
        await alert_clinicians(hub, visit_id, new_flags)
    return FormOutcome(response, flags, runtime.emergency_message(raised))


async def _store(
    runtime: IntakeRuntime,
    session: AsyncSession,
    visit_id: str,
    answers: Mapping[str, ItemAnswer],
    raised: tuple[RedFlag, ...],
    now: datetime,
) -> tuple[dict[str, Any], tuple[RedFlag, ...], tuple[RedFlag, ...]]:
    await records.check_visit_takes_intake(session, visit_id)
    row = await records.load(session, visit_id)
    kept = records.stored_flags(row)
    flags = records.merge_flags(kept, raised)
    new_flags = flags[len(kept) :]
    row_id = row.id if row is not None else new_id()
    summary_lines = records.summary_line_dicts(
        clinician_summary(runtime.questionnaire, answers, flags).to_dict()
    )
    response = await records.add_version(
        session,
        visit_id,
        source="form",
        response=to_questionnaire_response(
            runtime.questionnaire, answers, status="completed", authored=now, response_id=row_id
        ),
        summary_lines=summary_lines,
        raised=raised,
        now=now,
    )
    values: dict[str, Any] = {
        "status": "completed",
        "source": "form",
        "response": response,
        "summary_lines": summary_lines,
        "urgent": bool(flags),
        "flags": records.flag_dicts(flags),
        "dialogue": None,
        "completed_at": now,
    }
    if row is None:
        row = IntakeResponse(
            id=row_id, visit_id=visit_id, revision=0, created_at=now, updated_at=now, **values
        )
        await records.insert(session, row)
    else:
        await records.save(session, row, now, **values)
    if new_flags:
        record_urgent(session, visit_id, new_flags, "form")
    audit.record(
        session,
        actor_type="patient",
        actor_id=None,
        action="intake.completed",
        visit_id=visit_id,
        detail={"source": "form"},
    )
    return response, flags, new_flags


async def _record_flags_only(
    runtime: IntakeRuntime,
    database: Database,
    hub: RoomHub,
    visit_id: str,
    raised: tuple[RedFlag, ...],
) -> None:
    """Mark the intake urgent without storing any answer of the incomplete form."""

    async def store() -> tuple[RedFlag, ...]:
        now = utcnow()
        async with database.session() as session:
            await records.check_visit_takes_intake(session, visit_id)
            row = await records.load(session, visit_id)
            kept = records.stored_flags(row)
            flags = records.merge_flags(kept, raised)
            new_flags = flags[len(kept) :]
            if not new_flags:
                return ()
            if row is None:
                row_id = new_id()
                empty = to_questionnaire_response(
                    runtime.questionnaire,
                    {},
                    status="in-progress",
                    authored=now,
                    response_id=row_id,
                )
                await records.insert(
                    session,
                    IntakeResponse(
                        id=row_id,
                        visit_id=visit_id,
                        status="in-progress",
                        source="form",
                        response=empty,
                        summary_lines=[],
                        urgent=True,
                        flags=records.flag_dicts(flags),
                        dialogue=None,
                        revision=0,
                        created_at=now,
                        updated_at=now,
                    ),
                )
            else:
                await records.save(session, row, now, urgent=True, flags=records.flag_dicts(flags))
            record_urgent(session, visit_id, new_flags, "form")
            return new_flags

    async with runtime.dialogues.locked(visit_id):
        new_flags = await records.retrying(store)
    if new_flags:
        await alert_clinicians(hub, visit_id, new_flags)


def _values(fields: FormFields) -> list[str]:
    return [v for raw in fields.values() for v in ([raw] if isinstance(raw, str) else raw)]
