"""`telehealth audit verify` (check the hash chain) and `telehealth audit export` (FHIR NDJSON)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from telehealth.audit_fhir import fhir_ndjson
from telehealth.audit_verify import ChainReport, verify_chain
from telehealth.cli.common import CommandFailed, expected_failures, run
from telehealth.settings import Settings, load_settings
from telehealth.storage import Database, DatabaseUnavailable, upgrade_database

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
# A broken chain is not a failure of the command: its own exit status, for monitoring.
EXIT_BROKEN = 3


async def _open_database(settings: Settings) -> Database:
    database = Database(settings.database_url)
    try:
        await database.ping()
        await upgrade_database(database)
    except DatabaseUnavailable:
        await database.close()
        raise
    return database


async def _verify(settings: Settings) -> ChainReport:
    database = await _open_database(settings)
    try:
        async with database.session() as session:
            return await verify_chain(session)
    finally:
        await database.close()


async def _export(settings: Settings, since: datetime | None) -> int:
    database = await _open_database(settings)
    written = 0
    try:
        async with database.session() as session:
            async for line in fhir_ndjson(session, settings.public_base_url, since):
                sys.stdout.write(line)
                written += 1
    finally:
        await database.close()
    sys.stdout.flush()
    return written


def parse_since(value: str) -> datetime:
    """An ISO date or date-time; without a zone it is UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandFailed(f"--since is not an ISO date or date-time: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


@audit_app.command("verify")
@expected_failures
def verify() -> None:
    """Check every event's hash and link; exit 3 naming the first bad event if one fails."""
    report = run(_verify(load_settings()))
    if report.broken is not None:
        typer.echo(
            f"audit trail BROKEN at event {report.broken.event_id}: {report.broken.reason} "
            f"({report.checked} events before it verified)",
            err=True,
        )
        raise typer.Exit(EXIT_BROKEN)
    typer.echo(
        f"audit trail intact: {report.checked} events, head event {report.head_id} "
        f"hash {report.head_hash}"
    )


@audit_app.command("export")
@expected_failures
def export(
    since: Annotated[
        str | None, typer.Option(help="Only events recorded at or after this ISO date-time.")
    ] = None,
) -> None:
    """Write the audit trail as FHIR R4 AuditEvent resources, one JSON a line, to stdout."""
    start = parse_since(since) if since is not None else None
    written = run(_export(load_settings(), start))
    typer.echo(f"{written} audit events exported", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
