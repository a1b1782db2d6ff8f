"""Commands that run the server: serve, demo, db, version (staff accounts: cli/staff.py)."""

from __future__ import annotations

import errno
import socket
from typing import Annotated

import typer

from telehealth import __version__
from telehealth.cli.common import CommandFailed, PortInUse, expected_failures, run
from telehealth.clinicians import count_clinicians
from telehealth.demo import create_demo, describe_demo
from telehealth.serving import insecure_production_url, uvicorn_options
from telehealth.settings import Settings, load_settings
from telehealth.storage import Database, DatabaseUnavailable, upgrade_database
from telehealth.storage.migrate import current_revision

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


async def _open_database(settings: Settings) -> Database:
    database = Database.for_settings(settings)
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


@expected_failures
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@expected_failures
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (TELEHEALTH_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (TELEHEALTH_PORT).")] = None,
) -> None:
    """Start the server. On a first start in development, also create a demo login and invite;
    elsewhere, say how to create the first staff account."""
    import uvicorn

    from telehealth.app import create_app
    from telehealth.logs import configure_logging

    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = load_settings(**overrides)
    refusal = insecure_production_url(settings)
    if refusal is not None:
        raise CommandFailed(refusal)
    configure_logging(settings.log_level)
    check_port_free(settings.host, settings.port)
    first_start = run(_prepare_first_start(settings))
    if first_start is not None:
        typer.echo(first_start)
    if settings.is_development and settings.host not in LOOPBACK_HOSTS:
        typer.echo(DEVELOPMENT_ON_A_NETWORK)
    typer.echo(f"Serving on {settings.public_base_url}  (Ctrl+C to stop)")
    uvicorn.run(create_app(settings), **uvicorn_options(settings))


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
DEVELOPMENT_ON_A_NETWORK = (
    "Warning: TELEHEALTH_ENV is development (demo account, API docs) on a network address; "
    "set TELEHEALTH_ENV=production for real use."
)
NO_STAFF_YET = (
    "No staff account exists yet, so nobody can sign in. Create the first admin (who then\n"
    "adds staff in the admin console at /admin) or a clinician with:\n"
    "  telehealth admin create --email you@clinic.example --name 'Your Name'\n"
    "  telehealth clinician create --email you@clinic.example --name 'Dr. Your Name'\n"
)
DEMO_IS_FOR_DEVELOPMENT = (
    "the demo account is created only in development (TELEHEALTH_ENV=development); "
    "create real accounts with: telehealth clinician create"
)


async def _prepare_first_start(settings: Settings) -> str | None:
    database = await _open_database(settings)
    try:
        await upgrade_database(database)
        async with database.session() as session:
            if await count_clinicians(session) > 0:
                return None
        # A known login with a printed password must never reach a real deployment.
        if not settings.is_development:
            return NO_STAFF_YET
        return describe_demo(await create_demo(database, settings))
    finally:
        await database.close()


@expected_failures
def demo() -> None:
    """Create (or reset) the demo clinician and schedule a demo visit (development only)."""
    settings = load_settings()
    if not settings.is_development:
        raise CommandFailed(DEMO_IS_FOR_DEVELOPMENT)

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


@db_app.command("rekey")
@expected_failures
def db_rekey() -> None:
    """Re-encrypt the embedded database under a new key (stop the server first)."""
    from telehealth.storage.key_rotation import KeyRotationRefused, rotate_database_key

    settings = load_settings()
    try:
        rotated = rotate_database_key(settings)
    except KeyRotationRefused as error:
        raise CommandFailed(str(error)) from None
    if rotated.stored:
        typer.echo(
            f"database re-encrypted; the new key is in {settings.database_key_file} "
            "(back it up: without it the data is lost)"
        )
        return
    # The key came from the operator's setting, so only the operator can store the new one.
    typer.echo(
        "database re-encrypted; the old key no longer opens it. Set before the next start:\n"
        f"TELEHEALTH_DATABASE_KEY={rotated.key.hex}"
    )


def register(app: typer.Typer) -> None:
    app.command()(version)
    app.command()(serve)
    app.command()(demo)
    app.add_typer(db_app, name="db")
