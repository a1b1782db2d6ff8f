"""Build a FHIR R4 QuestionnaireResponse from intake answers.

Only enabled questions appear; groups appear when something inside them does, nested as
in the questionnaire. A question the patient skipped or did not know appears without an
answer and with the standard data-absent-reason extension (asked-declined / asked-unknown),
so "not asked" and "asked, no answer" stay distinguishable.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

from telehealth.intake.answers import Absent, Answered, ItemAnswer
from telehealth.intake.enable_when import enabled_answers
from telehealth.intake.errors import IntakeError
from telehealth.intake.questionnaire import IntakeItem, IntakeQuestionnaire

DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
ResponseStatus = Literal["in-progress", "completed"]


def to_questionnaire_response(
    questionnaire: IntakeQuestionnaire,
    answers: Mapping[str, ItemAnswer],
    *,
    status: ResponseStatus,
    authored: datetime,
    response_id: str | None = None,
) -> dict[str, Any]:
    """A validated QuestionnaireResponse as JSON-ready data."""
    if authored.tzinfo is None:
        raise ValueError("authored must be timezone-aware")
    enabled = enabled_answers(questionnaire, answers)
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": questionnaire.canonical,
        "status": status,
        "authored": authored.isoformat(),
    }
    if response_id:
        resource["id"] = response_id
    items = [found for item in questionnaire.items if (found := _entry(item, enabled))]
    if items:
        resource["item"] = items
    try:
        model = QuestionnaireResponse.model_validate(resource)
    except ValidationError as exc:  # a bug in this module, not a patient error
        raise IntakeError(f"built an invalid QuestionnaireResponse: {exc}") from exc
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return data


def _entry(item: IntakeItem, enabled: Mapping[str, ItemAnswer]) -> dict[str, Any] | None:
    if item.item_type == "group":
        children = [found for child in item.children if (found := _entry(child, enabled))]
        if not children:
            return None
        group: dict[str, Any] = {"linkId": item.link_id, "item": children}
        if item.text:
            group["text"] = item.text
        return group
    answer = enabled.get(item.link_id)
    if answer is None:
        return None
    entry: dict[str, Any] = {"linkId": item.link_id, "text": item.text}
    if isinstance(answer, Answered):
        entry["answer"] = [dict(value) for value in answer.values]
    elif isinstance(answer, Absent):
        entry["extension"] = [{"url": DATA_ABSENT_REASON, "valueCode": answer.reason}]
    return entry
