"""Reading and writing `intake_responses` rows and their versions. Every write bumps
`revision` and only lands if nobody else wrote since the row was read (optimistic
concurrency); a version number is taken once per visit (a unique key), so two concurrent
submissions cannot both become version N."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.intake import RedFlag
from telehealth.intake_service.errors import IntakeBusy, IntakeClosed
from telehealth.storage.models import IntakeResponse, IntakeResponseVersion, Visit, VisitStatus

# The intake happens before the call: during the call, and after the visit, it is closed.
INTAKE_OPEN_STATUSES = frozenset({VisitStatus.scheduled, VisitStatus.waiting})
WRITE_ATTEMPTS = 3

T = TypeVar("T")


class StaleRow(Exception):
    """The row changed since it was read; the caller reads it again and retries."""


async def retrying(
    write: Callable[[], Awaitable[T]], on_conflict: Callable[[], None] = lambda: None
) -> T:
    """Run `write` (a whole unit of work) again when another writer got in first."""
    for _ in range(WRITE_ATTEMPTS):
        try:
            return await write()
        except (StaleRow, IntegrityError):  # a newer revision, or a concurrent first insert
            on_conflict()
    raise IntakeBusy("the intake kept changing; please try again")


async def check_visit_takes_intake(session: AsyncSession, visit_id: str) -> None:
    visit = await session.get(Visit, visit_id)
    if visit is None or visit.status not in INTAKE_OPEN_STATUSES:
        raise IntakeClosed("this visit no longer takes intake answers")


async def load(session: AsyncSession, visit_id: str) -> IntakeResponse | None:
    result = await session.execute(
        select(IntakeResponse).where(IntakeResponse.visit_id == visit_id)
    )
    return result.scalar_one_or_none()


async def insert(session: AsyncSession, row: IntakeResponse) -> None:
    """Add a new row; a concurrent insert for the same visit fails on its unique key."""
    session.add(row)
    await session.flush()


async def save(session: AsyncSession, row: IntakeResponse, now: datetime, **values: Any) -> int:
    """Write `values` if the row is still at `row.revision`; the new revision, or StaleRow."""
    revision = row.revision + 1
    result = await session.execute(
        update(IntakeResponse)
        .where(IntakeResponse.id == row.id, IntakeResponse.revision == row.revision)
        .values(revision=revision, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleRow(row.id)
    return revision


def flag_dicts(flags: Iterable[RedFlag]) -> list[dict[str, str]]:
    return [{"id": f.id, "title": f.title, "advice": f.advice} for f in flags]


def stored_flags(row: IntakeResponse | None) -> tuple[RedFlag, ...]:
    if row is None:
        return ()
    return tuple(RedFlag(f["id"], f["title"], f["advice"]) for f in row.flags)  # type: ignore[arg-type]


def merge_flags(kept: Sequence[RedFlag], raised: Iterable[RedFlag]) -> tuple[RedFlag, ...]:
    """Flags already recorded stay (never withdrawn), new ones are added after them."""
    known = {flag.id for flag in kept}
    return (*kept, *(flag for flag in raised if flag.id not in known))


def summary_line_dicts(summary: Mapping[str, Any]) -> list[dict[str, str]]:
    return [dict(line) for line in summary["lines"]]


async def add_version(
    session: AsyncSession,
    visit_id: str,
    *,
    source: str,
    response: Mapping[str, Any],
    summary_lines: list[dict[str, str]],
    raised: Iterable[RedFlag],
    now: datetime,
) -> dict[str, Any]:
    """Keep a submitted response as the visit's next version; the response with its meta."""
    latest = await session.scalar(
        select(func.max(IntakeResponseVersion.version)).where(
            IntakeResponseVersion.visit_id == visit_id
        )
    )
    version = (latest or 0) + 1
    versioned = with_version_meta(response, version, now)
    session.add(
        IntakeResponseVersion(
            visit_id=visit_id,
            version=version,
            source=source,
            response=versioned,
            summary_lines=summary_lines,
            flags=flag_dicts(raised),
            submitted_at=now,
        )
    )
    await session.flush()  # a concurrent submission of the same number fails here
    return versioned


def with_version_meta(response: Mapping[str, Any], version: int, at: datetime) -> dict[str, Any]:
    """The response carrying FHIR `meta.versionId` ("1", "2", ...) and `meta.lastUpdated`."""
    meta = {**response.get("meta", {}), "versionId": str(version), "lastUpdated": at.isoformat()}
    return {**response, "meta": meta}
