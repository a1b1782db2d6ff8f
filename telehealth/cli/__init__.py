"""The `telehealth` command line."""

from __future__ import annotations

import typer

from telehealth.cli import audit, doctor, retention, server, speech, staff, tls
from telehealth.intake.cli import intake_app

app = typer.Typer(
    help="On-premise telehealth service.", no_args_is_help=True, pretty_exceptions_enable=False
)
server.register(app)
staff.register(app)
speech.register(app)
retention.register(app)
audit.register(app)
tls.register(app)
doctor.register(app)
app.add_typer(intake_app, name="intake")


def main() -> None:
    app()
