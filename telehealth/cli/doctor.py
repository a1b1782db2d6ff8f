"""`telehealth doctor`: is this installation ready? One line per problem, non-zero if any."""

from __future__ import annotations

import typer

from telehealth.cli.common import run
from telehealth.doctor import CHECKS, examine
from telehealth.settings import SettingsError, load_settings


def doctor() -> None:
    """Check settings, secrets, TLS, var/ permissions, disk, database, Redis, TURN and
    the speech models; print one line per problem and exit 1 if there is any."""
    try:
        settings = load_settings()
    except SettingsError as error:
        typer.echo(f"settings: {error}")
        raise typer.Exit(1) from None
    problems = run(examine(settings))
    for problem in problems:
        typer.echo(problem.line())
    if problems:
        typer.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found")
        raise typer.Exit(1)
    typer.echo(f"all {len(CHECKS)} checks passed")


def register(app: typer.Typer) -> None:
    app.command()(doctor)
