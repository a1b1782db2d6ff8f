"""Retention: what the clinic keeps, and for how long, in one list of kinds.

Each kind (`RETENTION_KINDS` in `telehealth.retention.kinds`) has a name, a period from the
settings, a purge function that deletes what is older and returns how much went, and a
dry-run count. `run_retention(targets, settings, now, dry_run=...)` goes through the list,
one kind after the other: the daily task (`telehealth.retention_task`) and the command
`telehealth retention run [--dry-run]` both call it. Adding a kind is one line in the list.
"""

from __future__ import annotations

from telehealth.retention.kinds import RETENTION_KINDS, KindOutcome, RetentionKind, run_retention
from telehealth.retention.targets import RetentionTargets

__all__ = ["RETENTION_KINDS", "KindOutcome", "RetentionKind", "RetentionTargets", "run_retention"]
