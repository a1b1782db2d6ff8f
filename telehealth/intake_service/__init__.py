"""The symptom intake in the running app: storage, dialogue sessions, form, alerts.

`telehealth.intake` is the pure engine; this package gives it a database, a clock and the
room hub. At start-up `open_intake(settings)` loads and checks the questionnaire
(`InvalidQuestionnaire` if it cannot be used) and returns the `IntakeRuntime`; then:

- `IntakeSessions(runtime, database, hub).start(visit_id)` / `.reply(visit_id, text)` run
  the dialogue (the voice path), storing every step so any process can resume it;
- `submit_form(runtime, database, hub, visit_id, fields)` stores a form (the keyboard path);
- red flags from either path mark the intake urgent, are audited, and reach the clinicians
  in the room as an `urgent_intake` status;
- `views` has what clinicians read.
"""

from __future__ import annotations

from telehealth.intake_service.alerts import URGENT_INTAKE_EVENT
from telehealth.intake_service.errors import (
    FormRejected,
    IntakeBusy,
    IntakeClosed,
    IntakeNotFound,
    IntakeNotStarted,
    IntakeServiceError,
    IntakeTooLong,
)
from telehealth.intake_service.form_submission import FormOutcome, submit_form
from telehealth.intake_service.runtime import DialogueCache, IntakeRuntime, open_intake
from telehealth.intake_service.sessions import IntakeSessions

__all__ = [
    "URGENT_INTAKE_EVENT",
    "DialogueCache",
    "FormOutcome",
    "FormRejected",
    "IntakeBusy",
    "IntakeClosed",
    "IntakeNotFound",
    "IntakeNotStarted",
    "IntakeRuntime",
    "IntakeServiceError",
    "IntakeSessions",
    "IntakeTooLong",
    "open_intake",
    "submit_form",
]
