"""The list of kinds the retention run purges, and the run itself."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from telehealth.retention import audit_trail, credentials, visit_records
from telehealth.retention.targets import RetentionTargets
from telehealth.settings import Settings

log = logging.getLogger("telehealth.retention")

# Each takes the stores and the cutoff (everything older goes) and returns a row count.
Purge = Callable[[RetentionTargets, datetime], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class RetentionKind:
    """One kind of record: `purge` deletes what is older than the period, `count` says how
    much that would be without deleting. `what` names the unit counted, for the report."""

    name: str
    what: str
    period: Callable[[Settings], timedelta]
    purge: Purge
    count: Purge
    # False where this process cannot reach the records (a room log in another process's
    # memory); the kind is then skipped, saying `unreachable`.
    reachable: Callable[[RetentionTargets], bool] = lambda _targets: True
    unreachable: str = ""


RETENTION_KINDS: tuple[RetentionKind, ...] = (
    RetentionKind(
        "transcripts",
        "transcript segments and chat messages",
        lambda s: timedelta(days=s.retention_days),
        visit_records.purge_transcripts,
        visit_records.count_transcripts,
    ),
    RetentionKind(
        "intake",
        "intake responses and their versions",
        lambda s: timedelta(days=s.retention_intake_days),
        visit_records.purge_intake,
        visit_records.count_intake,
    ),
    RetentionKind(
        "patient_sessions",
        "patient sessions",
        lambda s: timedelta(days=s.retention_patient_session_days),
        credentials.purge_patient_sessions,
        credentials.count_patient_sessions,
    ),
    RetentionKind(
        "invites",
        "invites",
        lambda s: timedelta(days=s.retention_invite_days),
        credentials.purge_invites,
        credentials.count_invites,
    ),
    RetentionKind(
        "audit_events",
        "audit events",
        lambda s: timedelta(days=s.retention_audit_days),
        audit_trail.purge,
        audit_trail.count,
    ),
    RetentionKind(
        "room_logs",
        "visit room logs",
        lambda s: timedelta(hours=s.retention_room_log_hours),
        visit_records.purge_room_logs,
        visit_records.count_room_logs,
        reachable=lambda targets: targets.delete_room_log is not None,
        unreachable="kept in the server's memory (memory://): the server's daily run purges them",
    ),
)


@dataclass(frozen=True, slots=True)
class KindOutcome:
    """What one kind did (or, in a dry run, would do): `count` rows older than `cutoff`.

    `skipped` says why nothing was looked at; `failed` names the error's type (no detail:
    messages of database drivers may quote values)."""

    name: str
    what: str
    cutoff: datetime
    count: int = 0
    skipped: str | None = None
    failed: str | None = None


async def run_retention(
    targets: RetentionTargets,
    settings: Settings,
    now: datetime,
    *,
    dry_run: bool = False,
    kinds: Sequence[RetentionKind] = RETENTION_KINDS,
) -> list[KindOutcome]:
    """Purge (or, with `dry_run`, count) every kind; a failing kind does not stop the rest."""
    if now.tzinfo is None:
        raise ValueError("now needs a timezone")
    outcomes = []
    for kind in kinds:
        cutoff = now - kind.period(settings)
        if not kind.reachable(targets):
            outcomes.append(KindOutcome(kind.name, kind.what, cutoff, skipped=kind.unreachable))
            continue
        work = kind.count if dry_run else kind.purge
        try:
            count = await work(targets, cutoff)
        except Exception as error:  # every store raises its own kind; the others still run
            log.exception("retention of one kind failed", extra={"kind": kind.name})
            outcomes.append(KindOutcome(kind.name, kind.what, cutoff, failed=type(error).__name__))
            continue
        outcomes.append(KindOutcome(kind.name, kind.what, cutoff, count))
    return outcomes
