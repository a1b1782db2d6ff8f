"""The intake service's exceptions: one base class, one subclass per refusal.

`IntakeServiceError`
    `IntakeClosed`      the visit is over (or its call is running): no more intake answers.
    `IntakeNotStarted`  a dialogue reply came before the dialogue was started.
    `IntakeTooLong`     a dialogue has had more replies than one intake can need.
    `IntakeBusy`        the intake was being changed elsewhere and the change did not get in.
    `IntakeNotFound`    no intake for this visit, or the visit is not the caller's.
    `FormRejected`      form fields were not understood (`errors` by linkId); nothing stored.

Every message is safe to show to the caller and to log: identifiers only, never answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from telehealth.intake import RedFlag


class IntakeServiceError(Exception):
    """Base class of every error raised by `telehealth.intake_service`."""


class IntakeClosed(IntakeServiceError):
    """The visit no longer takes intake answers."""


class IntakeNotStarted(IntakeServiceError):
    """`reply` before `start`."""


class IntakeTooLong(IntakeServiceError):
    """The dialogue reached its reply limit; the patient should use the form."""


class IntakeBusy(IntakeServiceError):
    """Another request kept changing this intake; the caller may try again."""


class IntakeNotFound(IntakeServiceError):
    """No intake to show (none yet, no such visit, or another clinician's visit)."""


class FormRejected(IntakeServiceError):
    """The form was not stored: `errors` maps each linkId to a message for the patient.

    A phrase that raises a flag the moment it is said (thoughts of self-harm) still counts
    when the rest of the form is incomplete: `flags` and `emergency_message` say so.
    """

    def __init__(
        self,
        errors: Mapping[str, str],
        *,
        flags: Sequence[RedFlag] = (),
        emergency_message: str | None = None,
    ) -> None:
        self.errors = dict(errors)
        self.flags = tuple(flags)
        self.emergency_message = emergency_message
        super().__init__(f"form fields not understood: {', '.join(sorted(self.errors))}")
