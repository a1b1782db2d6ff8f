"""The visit lifecycle: scheduled -> waiting -> in_call -> ended, or cancelled."""

from __future__ import annotations

from telehealth.storage.models import VisitStatus

ALLOWED_TRANSITIONS: dict[VisitStatus, frozenset[VisitStatus]] = {
    VisitStatus.scheduled: frozenset({VisitStatus.waiting, VisitStatus.cancelled}),
    # A patient who leaves the waiting room goes back to scheduled.
    VisitStatus.waiting: frozenset(
        {VisitStatus.scheduled, VisitStatus.in_call, VisitStatus.cancelled}
    ),
    # A dropped call can be resumed from the waiting room.
    VisitStatus.in_call: frozenset({VisitStatus.waiting, VisitStatus.ended}),
    VisitStatus.ended: frozenset(),
    VisitStatus.cancelled: frozenset(),
}


class InvalidTransition(ValueError):
    """The visit cannot move to the requested status from where it is."""


def check_transition(current: VisitStatus, target: VisitStatus) -> None:
    if target == current:
        return
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(f"a {current.value} visit cannot become {target.value}")


def is_open(status: VisitStatus) -> bool:
    return status not in (VisitStatus.ended, VisitStatus.cancelled)
