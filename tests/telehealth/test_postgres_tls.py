"""PostgreSQL TLS settings (sslmode, sslrootcert) reach asyncpg as its `ssl` argument.

No PostgreSQL with TLS runs here: the settings are checked as parsed, and the local
plain-text server shows that a verifying mode is really passed on (it refuses to connect).
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest

from telehealth.settings import Settings, SettingsError, load_settings
from telehealth.storage import Database, DatabaseUnavailable
from tests.conftest import requires_postgres
from tests.services import POSTGRES_ADMIN_URL
from tests.tls_certificates import make_certificates

PG_URL = "postgresql+asyncpg://telehealth@db.clinic.example:5432/telehealth"


def _settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str = PG_URL, **env: str
) -> Settings:
    """Settings read from the environment, as the server reads them."""
    for name in list(os.environ):
        if name.startswith("TELEHEALTH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TELEHEALTH_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TELEHEALTH_DATABASE_URL", url)
    for name, value in env.items():
        monkeypatch.setenv(f"TELEHEALTH_{name}", value)
    return load_settings(_env_file=None)


def test_verify_full_with_a_root_certificate_checks_chain_and_host_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificates = make_certificates(tmp_path / "tls")
    settings = _settings(
        tmp_path,
        monkeypatch,
        DATABASE_SSLMODE="verify-full",
        DATABASE_SSLROOTCERT=str(certificates.ca),
    )
    context = settings.postgres_ssl()
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    subjects = [dict(part[0] for part in ca["subject"]) for ca in context.get_ca_certs()]
    assert {"commonName": "telehealth test CA"} in subjects


def test_verify_ca_checks_the_chain_but_not_the_host_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificates = make_certificates(tmp_path / "tls")
    settings = _settings(
        tmp_path,
        monkeypatch,
        DATABASE_SSLMODE="verify-ca",
        DATABASE_SSLROOTCERT=str(certificates.ca),
    )
    context = settings.postgres_ssl()
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and not context.check_hostname


@pytest.mark.parametrize("mode", ["disable", "prefer", "require"])
def test_other_modes_go_to_asyncpg_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    settings = _settings(tmp_path, monkeypatch, DATABASE_SSLMODE=mode)
    assert settings.postgres_ssl() == mode


def test_without_tls_settings_asyncpg_keeps_its_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _settings(tmp_path, monkeypatch).postgres_ssl() is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_SSLMODE": "verify-everything"}, "TELEHEALTH_DATABASE_SSLMODE"),
        ({"DATABASE_SSLROOTCERT": "/etc/ssl/ca.pem"}, "TELEHEALTH_DATABASE_SSLMODE: must be set"),
        (
            {"DATABASE_SSLMODE": "verify-full", "DATABASE_SSLROOTCERT": "/nonexistent/ca.pem"},
            "TELEHEALTH_DATABASE_SSLROOTCERT: cannot load the TLS files",
        ),
    ],
)
def test_wrong_tls_settings_are_refused_at_start_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        _settings(tmp_path, monkeypatch, **env)


@requires_postgres
@pytest.mark.asyncio
async def test_the_mode_reaches_asyncpg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The local server has no TLS: verify-full cannot connect, disable can."""
    assert POSTGRES_ADMIN_URL is not None
    certificates = make_certificates(tmp_path / "tls")
    verifying = _settings(
        tmp_path,
        monkeypatch,
        POSTGRES_ADMIN_URL,
        DATABASE_SSLMODE="verify-full",
        DATABASE_SSLROOTCERT=str(certificates.ca),
    )
    database = Database.for_settings(verifying)
    try:
        with pytest.raises(DatabaseUnavailable, match="rejected SSL upgrade"):
            await database.ping()
    finally:
        await database.close()
    disabled = _settings(tmp_path, monkeypatch, POSTGRES_ADMIN_URL, DATABASE_SSLMODE="disable")
    plain = Database.for_settings(disabled)
    try:
        await plain.ping()
    finally:
        await plain.close()
