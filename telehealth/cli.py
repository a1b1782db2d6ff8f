"""The `telehealth` command line."""

from __future__ import annotations

import asyncio
import errno
import functools
import getpass
import json
import socket
import sys
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from telehealth import __version__
from telehealth.clinicians import ClinicianExists, count_clinicians, create_clinician
from telehealth.demo import create_demo, describe_demo
from telehealth.intake.cli import intake_app
from telehealth.security import WeakPassword
from telehealth.settings import Settings, SettingsError, load_settings
from telehealth.storage import Database, DatabaseUnavailable, upgrade_database
from telehealth.storage.migrate import current_revision

P = ParamSpec("P")
T = TypeVar("T")

app = typer.Typer(
    help="On-premise telehealth service.", no_args_is_help=True, pretty_exceptions_enable=False
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
clinician_app = typer.Typer(help="Clinician accounts.", no_args_is_help=True)
models_app = typer.Typer(help="Speech models.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(clinician_app, name="clinician")
app.add_typer(models_app, name="models")
app.add_typer(intake_app, name="intake")


class CommandFailed(Exception):
    """An expected failure: printed as one line, exit status 1."""


class PortInUse(CommandFailed):
    pass


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def expected_failures(command: Callable[P, T]) -> Callable[P, T]:
    """Turn the failures an operator can cause into one clear line and a non-zero exit."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except SettingsError as error:
            raise fail(str(error), code=2) from None
        except (DatabaseUnavailable, CommandFailed) as error:
            raise fail(str(error)) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


async def _open_database(settings: Settings) -> Database:
    database = Database(settings.database_url)
    try:
        await database.ping()
    except DatabaseUnavailable:
        await database.close()
        raise
    return database


def check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(f"port {port} on {host} is already in use") from None
            raise CommandFailed(f"cannot listen on {host}:{port}: {error.strerror}") from None


@app.command()
@expected_failures
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
@expected_failures
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (TELEHEALTH_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (TELEHEALTH_PORT).")] = None,
) -> None:
    """Start the server. On first start, also create a demo login and invite."""
    import uvicorn

    from telehealth.app import create_app
    from telehealth.logs import configure_logging

    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = load_settings(**overrides)
    configure_logging(settings.log_level)
    check_port_free(settings.host, settings.port)
    first_start = run(_prepare_first_start(settings))
    if first_start is not None:
        typer.echo(first_start)
    typer.echo(f"Serving on {settings.public_base_url}  (Ctrl+C to stop)")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        ws="websockets-sansio",
        ws_max_size=64 * 1024,
        ws_per_message_deflate=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


async def _prepare_first_start(settings: Settings) -> str | None:
    database = await _open_database(settings)
    try:
        await upgrade_database(database)
        async with database.session() as session:
            if await count_clinicians(session) > 0:
                return None
        return describe_demo(await create_demo(database, settings))
    finally:
        await database.close()


@app.command()
@expected_failures
def demo() -> None:
    """Create (or reset) the demo clinician and schedule a demo visit."""
    settings = load_settings()

    async def go() -> str:
        database = await _open_database(settings)
        try:
            await upgrade_database(database)
            return describe_demo(await create_demo(database, settings))
        finally:
            await database.close()

    typer.echo(run(go()))


@db_app.command("upgrade")
@expected_failures
def db_upgrade() -> None:
    """Apply all database migrations."""
    settings = load_settings()

    async def go() -> str | None:
        database = await _open_database(settings)
        try:
            await upgrade_database(database)
            return await current_revision(database)
        finally:
            await database.close()

    typer.echo(f"database at revision {run(go())}")


@clinician_app.command("create")
@expected_failures
def clinician_create(
    email: Annotated[str, typer.Option(help="Login email.")],
    name: Annotated[str, typer.Option(help="Name shown to patients.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a clinician account (the password is asked for, never passed as an argument)."""
    settings = load_settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise CommandFailed("the passwords do not match")

    async def go() -> str:
        database = await _open_database(settings)
        try:
            await upgrade_database(database)
            async with database.session() as session:
                clinician = await create_clinician(
                    session, email=email, display_name=name, password=password
                )
                return clinician.email
        finally:
            await database.close()

    try:
        created = run(go())
    except (ClinicianExists, WeakPassword, ValueError) as error:
        raise CommandFailed(str(error)) from None
    typer.echo(f"created clinician {created}")


@models_app.command("list")
@expected_failures
def models_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Which speech engines and models are installed, and which are active."""
    from telehealth.speech import describe_models

    settings = load_settings()
    report = describe_models(settings)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"speech engine setting: {report['setting']} (language {report['language']})")
    active = report["active"]
    if active:
        typer.echo(f"active: {active['engine']} {active['model']} [{active['language']}]")
    else:
        typer.echo(f"active: none ({report['problem']})")
    typer.echo("installed:")
    for model in report["installed"]:
        typer.echo(
            f"  {model['engine']:8} {model['model']:32} {model['language']:4} {model['path']}"
        )


def main() -> None:
    app()
