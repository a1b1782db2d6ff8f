"""Voice and keyboard symptom intake before a visit (pure logic, no I/O).

- `load_questionnaire()` reads and checks a FHIR R4 Questionnaire (`InvalidQuestionnaire`).
- `IntakeDialogue` runs the spoken conversation: `start()`, then `reply(text)` -> `Turn`.
- `answers_from_form()` reads a submitted form with the same parsers.
- `to_questionnaire_response()` and `clinician_summary()` build what is stored and shown.
- `load_red_flag_rules()` reads the red-flag table the dialogue checks after every answer.
"""

from __future__ import annotations

from telehealth.intake.answers import Absent, Answered, ItemAnswer, NotUnderstood, Parsed
from telehealth.intake.dialogue import IntakeDialogue
from telehealth.intake.errors import (
    IntakeError,
    InvalidFormAnswers,
    InvalidQuestionnaire,
    InvalidRedFlagRules,
)
from telehealth.intake.form import answers_from_form
from telehealth.intake.questionnaire import (
    IntakeItem,
    IntakeQuestionnaire,
    load_questionnaire,
    questionnaire_from_dict,
)
from telehealth.intake.red_flags import RedFlag, RedFlagRules, load_red_flag_rules
from telehealth.intake.response import to_questionnaire_response
from telehealth.intake.summary import ClinicianSummary, clinician_summary
from telehealth.intake.turn import Turn

__all__ = [
    "Absent",
    "Answered",
    "ClinicianSummary",
    "IntakeDialogue",
    "IntakeError",
    "IntakeItem",
    "IntakeQuestionnaire",
    "InvalidFormAnswers",
    "InvalidQuestionnaire",
    "InvalidRedFlagRules",
    "ItemAnswer",
    "NotUnderstood",
    "Parsed",
    "RedFlag",
    "RedFlagRules",
    "Turn",
    "answers_from_form",
    "clinician_summary",
    "load_questionnaire",
    "load_red_flag_rules",
    "questionnaire_from_dict",
    "to_questionnaire_response",
]
