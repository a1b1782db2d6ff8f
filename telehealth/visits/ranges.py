"""The time ranges a clinician's lists cover: today (the UTC day) and the coming month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

VisitRange = Literal["today", "upcoming"]


def visit_window(visit_range: VisitRange, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of `visit_range` seen at `now`: the UTC day, or an hour ago to 30 days on."""
    if visit_range == "today":
        start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)
    return now - timedelta(hours=1), now + timedelta(days=30)
