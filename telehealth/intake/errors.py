"""The intake package's exceptions: one base class, one subclass per thing that can be wrong.

`IntakeError`
    `InvalidQuestionnaire`  the questionnaire file is missing, not FHIR, or not askable.
    `InvalidRedFlagRules`   the red-flag rule table is malformed.
    `InvalidFormAnswers`    a submitted form has fields the parsers could not understand.

A patient's reply that cannot be understood is never an exception: parsers return
`NotUnderstood` and the dialogue asks again.
"""

from __future__ import annotations

from collections.abc import Mapping


class IntakeError(Exception):
    """Base class of every error raised by `telehealth.intake`."""


class InvalidQuestionnaire(IntakeError):
    """The questionnaire cannot be used; the message names the item and the problem."""


class InvalidRedFlagRules(IntakeError):
    """The red-flag rule table cannot be used; the message names the rule and the problem."""


class InvalidFormAnswers(IntakeError):
    """Some form fields were not understood; `errors` maps each field's linkId to a message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        fields = ", ".join(sorted(self.errors))
        super().__init__(f"form fields not understood: {fields}")
