"""`telehealth retention run [--dry-run]`: the retention purge, now, from the command line.

Prints one line per kind (what went, or with `--dry-run` what would go, and the cutoff)
and exits 1 if a kind failed. With Redis the room logs are purged here too; with the
in-process memory backend they live in the server process, whose daily run purges them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer

from signaling.errors import SignalingError
from signaling.hub import RoomHub
from signaling.pubsub import create_backend
from telehealth.cli.common import CommandFailed, expected_failures, run
from telehealth.retention import KindOutcome, RetentionTargets, run_retention
from telehealth.settings import Settings, load_settings
from telehealth.storage import Database, upgrade_database
from telehealth.storage.models import utcnow

retention_app = typer.Typer(help="Retention of stored records.", no_args_is_help=True)


@asynccontextmanager
async def _targets(settings: Settings) -> AsyncIterator[RetentionTargets]:
    database = Database(settings.database_url)
    try:
        await database.ping()
        await upgrade_database(database)
        if not settings.redis_url or settings.redis_url.startswith("memory"):
            yield RetentionTargets(database)
            return
        events = create_backend(settings.pubsub_url)
        try:
            await events.connect()
        except SignalingError as error:
            raise CommandFailed(f"cannot reach the room event logs: {error}") from None
        try:
            yield RetentionTargets(database, RoomHub(events).delete_visit_log)
        finally:
            await events.close()
    finally:
        await database.close()


def _line(outcome: KindOutcome, dry_run: bool) -> str:
    if outcome.skipped:
        return f"{outcome.name}: skipped, {outcome.skipped}"
    if outcome.failed:
        return f"{outcome.name}: failed ({outcome.failed})"
    verb = "would delete" if dry_run else "deleted"
    cutoff = outcome.cutoff.isoformat(timespec="seconds")
    return f"{outcome.name}: {verb} {outcome.count} {outcome.what} (older than {cutoff})"


def _as_of(value: str | None, dry_run: bool) -> datetime:
    now = utcnow()
    if value is None:
        return now
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise CommandFailed("--as-of must be an ISO 8601 time, e.g. 2027-01-31T12:00") from None
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    if at > now and not dry_run:
        # Purging "as of" a later time would cut every retention period short.
        raise CommandFailed("--as-of may be in the future only with --dry-run")
    return at


@retention_app.command("run")
@expected_failures
def run_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be deleted, by kind.")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(help="Run as at this time (ISO 8601, UTC unless given); default now."),
    ] = None,
) -> None:
    """Delete what is past its retention period, by kind (or, with --dry-run, count it)."""
    settings = load_settings()
    now = _as_of(as_of, dry_run)

    async def go() -> list[KindOutcome]:
        async with _targets(settings) as targets:
            return await run_retention(targets, settings, now, dry_run=dry_run)

    outcomes = run(go())
    if dry_run:
        typer.echo("dry run: nothing was deleted")
    for outcome in outcomes:
        typer.echo(_line(outcome, dry_run))
    if any(outcome.failed for outcome in outcomes):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention")
