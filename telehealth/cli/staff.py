"""Staff accounts from the server's command line: `telehealth admin create` and
`telehealth clinician create|list|disable|enable|reset-password|reset-mfa|revoke-sessions`.

The operator acts as `system` in the audit log. A change that ends sessions is announced to
the running servers when they share Redis; with memory:// their periodic check catches it.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.cli.common import CommandFailed, expected_failures, run
from telehealth.clinicians import ClinicianExists, create_clinician
from telehealth.event_payloads import room_event_log
from telehealth.realtime.revocations import Revocations
from telehealth.security import WeakPassword
from telehealth.settings import Settings, load_settings
from telehealth.staff_admin import (
    StaffNotFound,
    get_staff_by_email,
    list_staff,
    reset_password,
    reset_second_factor,
    revoke_sessions,
    set_active,
)
from telehealth.storage import Database, DatabaseUnavailable, upgrade_database
from telehealth.storage.models import Clinician, StaffRole

T = TypeVar("T")
clinician_app = typer.Typer(help="Staff accounts (clinicians and admins).", no_args_is_help=True)
admin_app = typer.Typer(help="Admin accounts.", no_args_is_help=True)
Email = Annotated[str, typer.Option(help="The account's login email.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


async def _open_database(settings: Settings) -> Database:
    database = Database.for_settings(settings)
    try:
        await database.ping()
        await upgrade_database(database)
    except DatabaseUnavailable:
        await database.close()
        raise
    return database


def _read_password(from_stdin: bool, prompt: str = "Password: ") -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass(prompt)
    if getpass.getpass("Repeat password: ") != password:
        raise CommandFailed("the passwords do not match")
    return password


def _in_database(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def go() -> T:
        database = await _open_database(settings)
        try:
            async with database.session() as session:
                return await work(session)
        finally:
            await database.close()

    try:
        return run(go())
    except (ClinicianExists, StaffNotFound, WeakPassword, ValueError) as error:
        raise CommandFailed(str(error)) from None


async def _announce(settings: Settings, clinician_id: str) -> None:
    # Only a shared backend reaches the servers; memory:// lives inside each of them.
    if not settings.redis_url:
        return
    # Sealed like the servers' own events, or they would skip the announcement.
    events = room_event_log(settings.pubsub_url, settings.resolved_secret_key())
    try:
        await events.connect()
        await Revocations(events).announce(clinician_id)
    finally:
        await events.close()


def _create(role: StaffRole, email: str, name: str, password_stdin: bool) -> None:
    settings = load_settings()
    password = _read_password(password_stdin)

    async def work(session: AsyncSession) -> str:
        made = await create_clinician(
            session, email=email, display_name=name, password=password, role=role
        )
        return made.email

    typer.echo(f"created {role.value} {_in_database(settings, work)}")


@clinician_app.command("create")
@expected_failures
def clinician_create(
    email: Email,
    name: Annotated[str, typer.Option(help="Name shown to patients.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a clinician account (the password is asked for, never passed as an argument)."""
    _create(StaffRole.clinician, email, name, password_stdin)


@admin_app.command("create")
@expected_failures
def admin_create(
    email: Email,
    name: Annotated[str, typer.Option(help="Name shown in the admin console.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an admin account, who manages staff and reads the audit log."""
    _create(StaffRole.admin, email, name, password_stdin)


@clinician_app.command("list")
@expected_failures
def clinician_list() -> None:
    """List every staff account: email, role, state, name."""

    async def work(session: AsyncSession) -> list[Clinician]:
        return await list_staff(session)

    for row in _in_database(load_settings(), work):
        state = "active" if row.is_active else "disabled"
        typer.echo(f"{row.email}\t{row.role}\t{state}\t{row.display_name}")


def _change(
    email: str,
    done: str,
    change: Callable[[AsyncSession, Clinician], Awaitable[object]],
    *,
    ends_sessions: bool = True,
) -> None:
    settings = load_settings()

    async def work(session: AsyncSession) -> str:
        target = await get_staff_by_email(session, email)
        await change(session, target)
        await session.commit()
        if ends_sessions:
            await _announce(settings, target.id)
        return target.email

    typer.echo(f"{done} {_in_database(settings, work)}")


@clinician_app.command("disable")
@expected_failures
def clinician_disable(email: Email) -> None:
    """Disable an account: it is signed out everywhere and cannot sign in."""

    async def change(session: AsyncSession, target: Clinician) -> None:
        await set_active(session, target, active=False, actor=audit.SYSTEM)

    _change(email, "disabled", change)


@clinician_app.command("enable")
@expected_failures
def clinician_enable(email: Email) -> None:
    """Enable a disabled account again."""

    async def change(session: AsyncSession, target: Clinician) -> None:
        await set_active(session, target, active=True, actor=audit.SYSTEM)

    _change(email, "enabled", change, ends_sessions=False)


@clinician_app.command("reset-password")
@expected_failures
def clinician_reset_password(email: Email, password_stdin: PasswordStdin = False) -> None:
    """Set a temporary password, which the next sign-in must change; signs the account out."""
    password = _read_password(password_stdin, "Temporary password: ")

    async def change(session: AsyncSession, target: Clinician) -> None:
        await reset_password(session, target, password, actor=audit.SYSTEM)

    _change(email, "reset the password of", change)


@clinician_app.command("reset-mfa")
@expected_failures
def clinician_reset_mfa(email: Email) -> None:
    """Remove the account's second factor (it sets one up at its next sign-in)."""

    async def change(session: AsyncSession, target: Clinician) -> None:
        await reset_second_factor(session, target, actor=audit.SYSTEM)

    _change(email, "reset the second factor of", change)


@clinician_app.command("revoke-sessions")
@expected_failures
def clinician_revoke_sessions(email: Email) -> None:
    """Sign the account out everywhere (its open calls close too)."""

    async def change(session: AsyncSession, target: Clinician) -> None:
        await revoke_sessions(session, target, actor=audit.SYSTEM)

    _change(email, "signed out", change)


def register(app: typer.Typer) -> None:
    app.add_typer(clinician_app, name="clinician")
    app.add_typer(admin_app, name="admin")
