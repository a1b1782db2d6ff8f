"""`telehealth tls dev-cert`: a local CA and a server certificate for trying https on a LAN."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from telehealth.cli.common import CommandFailed, expected_failures
from telehealth.settings import load_settings
from telehealth.tls.dev_cert import DevCertError, DevCertificate, make_dev_certificate

tls_app = typer.Typer(help="TLS certificates.", no_args_is_help=True)
CA_NICKNAME = "Telehealth development CA"


@tls_app.command("dev-cert")
@expected_failures
def dev_cert(
    host: Annotated[
        list[str],
        typer.Option(
            "--host", help="A host name or IP address the service is opened at (repeatable)."
        ),
    ],
) -> None:
    """Make a local CA (once, kept in var/tls/) and a 90-day certificate it signs for the
    hosts; print the settings to use and how to trust the CA. For trying the service on a
    LAN only: a clinic uses a certificate from its own or a public CA."""
    # The TLS files may not exist yet (making them is the point): do not check them here.
    settings = load_settings(tls_cert=None, tls_key=None)
    try:
        made = make_dev_certificate(settings.data_dir / "tls", host, now=datetime.now(UTC))
    except DevCertError as error:
        raise CommandFailed(str(error)) from None
    typer.echo(describe_dev_certificate(made, settings.port))


def describe_dev_certificate(made: DevCertificate, port: int) -> str:
    ca, cert, key = (path.resolve() for path in (made.ca_cert, made.cert, made.key))
    ca_line = (
        f"Made a development CA: {ca}\n"
        f"  (its key {made.ca_key.resolve()} is readable by you only: never copy it)"
        if made.ca_created
        else f"Reused the development CA {ca}: devices that trust it trust this certificate."
    )
    first = made.hosts[0]
    url_host = f"[{first}]" if ":" in first else first
    return f"""{ca_line}
Certificate for {", ".join(made.hosts)}, valid until {made.not_after:%Y-%m-%d}: {cert}

Set these (in the environment or .env) and start `telehealth serve`:
  TELEHEALTH_TLS_CERT={cert}
  TELEHEALTH_TLS_KEY={key}
  TELEHEALTH_PUBLIC_BASE_URL=https://{url_host}:{port}
  TELEHEALTH_HOST=0.0.0.0    (to be reached from other devices, not only this one)

Then trust the CA on each device that opens the service{_trust_steps(ca)}"""


def _trust_steps(ca: Path) -> str:
    return f""" (nothing here installs it):
  Debian/Ubuntu, system store (curl, Python, most programs):
    sudo cp {ca} /usr/local/share/ca-certificates/telehealth-dev-ca.crt
    sudo update-ca-certificates
  Chromium/Chrome on Linux (NSS; certutil is in the package libnss3-tools):
    certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "{CA_NICKNAME}" -i {ca}
  Firefox (each profile; or set security.enterprise_roots.enabled to use the system store):
    certutil -d sql:$HOME/.mozilla/firefox/<profile> -A -t "C,," -n "{CA_NICKNAME}" -i {ca}
  macOS:
    sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {ca}
  Windows (copy ca.pem over, then in an administrator's command prompt):
    certutil -addstore -f Root ca.pem
  Android and iOS: copy ca.pem to the device and install it as a CA certificate in Settings
  (iOS: then turn on full trust for it in General > About > Certificate Trust Settings).
Restart the browser afterwards. Remove the CA from the devices when you are done trying."""


def register(app: typer.Typer) -> None:
    app.add_typer(tls_app, name="tls")
