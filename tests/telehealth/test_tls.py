"""TLS settings, the development CA and certificates, the uvicorn options and the
`__Host-` cookie layer, each on its own (the served whole: test_tls_serve.py)."""

from __future__ import annotations

import ipaddress
import os
import ssl
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from fastapi import FastAPI

from telehealth.middleware.host_cookies import host_cookie_header, host_set_cookie
from telehealth.serving import insecure_production_url, uvicorn_options
from telehealth.settings import SettingsError, load_settings
from telehealth.tls.dev_cert import DevCertError, make_dev_certificate, parse_host
from telehealth.tls.files import certificate_not_after
from tests.conftest import make_settings

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_dev_cert_makes_a_ca_and_a_server_certificate_for_the_hosts(tmp_path: Path) -> None:
    made = make_dev_certificate(tmp_path / "tls", ["Clinic.Test", "192.168.1.20", "::1"], now=NOW)
    assert made.ca_created
    assert made.hosts == ("clinic.test", "192.168.1.20", "::1")
    # Private keys and their directory are the owner's only; certificates are public.
    assert _mode(tmp_path / "tls") == 0o700
    assert _mode(made.ca_key) == 0o600 and _mode(made.key) == 0o600
    assert _mode(made.ca_cert) == 0o644 and _mode(made.cert) == 0o644

    ca, server = _certificate(made.ca_cert), _certificate(made.cert)
    server.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["clinic.test"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("192.168.1.20"),
        ipaddress.ip_address("::1"),
    ]
    usage = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert server.not_valid_after_utc == NOW + timedelta(days=90) == made.not_after
    assert server.not_valid_before_utc <= NOW
    assert certificate_not_after(made.cert) == NOW + timedelta(days=90)
    key = serialization.load_pem_private_key(made.key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.public_key() == server.public_key()


def test_a_second_run_reuses_the_ca_and_makes_a_new_certificate(tmp_path: Path) -> None:
    first = make_dev_certificate(tmp_path, ["clinic.test"], now=NOW)
    ca_before, ca_key_before = first.ca_cert.read_bytes(), first.ca_key.read_bytes()
    server_before = first.cert.read_bytes()

    second = make_dev_certificate(tmp_path, ["clinic.test", "10.0.0.5"], now=NOW + timedelta(1))
    assert not second.ca_created
    assert second.ca_cert.read_bytes() == ca_before
    assert second.ca_key.read_bytes() == ca_key_before
    assert second.cert.read_bytes() != server_before
    _certificate(second.cert).verify_directly_issued_by(_certificate(second.ca_cert))
    assert _mode(second.key) == 0o600


def test_dev_cert_refuses_bad_hosts_and_a_broken_ca(tmp_path: Path) -> None:
    for bad in ("", "-clinic.test", "clinic..test", "under_score.test", "a" * 64 + ".test"):
        with pytest.raises(DevCertError):
            parse_host(bad)
    with pytest.raises(DevCertError, match="at least one host"):
        make_dev_certificate(tmp_path, [], now=NOW)
    made = make_dev_certificate(tmp_path, ["clinic.test"], now=NOW)
    made.ca_key.unlink()
    with pytest.raises(DevCertError, match="half of the development CA"):
        make_dev_certificate(tmp_path, ["clinic.test"], now=NOW)
    # A CA past its end is not used again: the operator is told how to start over.
    other = tmp_path / "other"
    make_dev_certificate(other, ["clinic.test"], now=NOW)
    with pytest.raises(DevCertError, match="expired"):
        make_dev_certificate(other, ["clinic.test"], now=NOW + timedelta(days=6 * 365))


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    made = make_dev_certificate(tmp_path / "tls", ["clinic.test"], now=datetime.now(UTC))
    return made.cert, made.key


def test_tls_settings_make_the_public_url_https(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    cert, key = pair
    settings = make_settings(tmp_path, tls_cert=cert, tls_key=key, port=8443)
    assert settings.public_base_url == "https://127.0.0.1:8443" and settings.serves_https
    options = uvicorn_options(settings)
    assert options["ssl_certfile"] == str(cert) and options["ssl_keyfile"] == str(key)
    # The context uvicorn builds from them speaks TLS 1.2 at least.
    config = uvicorn.Config(FastAPI(), **options)
    config.load()
    assert config.ssl is not None
    assert config.ssl.minimum_version >= ssl.TLSVersion.TLSv1_2


def _refusal(monkeypatch: pytest.MonkeyPatch, **variables: str) -> str:
    for name in ("TELEHEALTH_TLS_CERT", "TELEHEALTH_TLS_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None)
    return str(refused.value)


def test_tls_settings_refuse_half_missing_unreadable_open_or_mismatched_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pair: tuple[Path, Path]
) -> None:
    monkeypatch.setenv("TELEHEALTH_DATA_DIR", str(tmp_path / "var"))
    cert, key = pair
    assert _refusal(monkeypatch, TELEHEALTH_TLS_CERT=str(cert)) == (
        "invalid setting TELEHEALTH_TLS_KEY: must be set too when TELEHEALTH_TLS_CERT is "
        "(both or neither)"
    )
    assert "invalid setting TELEHEALTH_TLS_CERT: must be set too" in _refusal(
        monkeypatch, TELEHEALTH_TLS_KEY=str(key)
    )
    missing = _refusal(
        monkeypatch, TELEHEALTH_TLS_CERT=str(tmp_path / "nothing.pem"), TELEHEALTH_TLS_KEY=str(key)
    )
    assert (
        missing
        == f"invalid setting TELEHEALTH_TLS_CERT: there is no file at {tmp_path}/nothing.pem"
    )

    key.chmod(0o640)
    open_key = _refusal(monkeypatch, TELEHEALTH_TLS_CERT=str(cert), TELEHEALTH_TLS_KEY=str(key))
    assert open_key.startswith("invalid setting TELEHEALTH_TLS_KEY: ")
    assert "mode 640" in open_key and f"chmod 600 {key}" in open_key
    key.chmod(0o600)

    # A key of another certificate, and a pass-phrase key (a service cannot type it in).
    stranger = make_dev_certificate(tmp_path / "stranger", ["other.test"], now=NOW).key
    mismatch = _refusal(
        monkeypatch, TELEHEALTH_TLS_CERT=str(cert), TELEHEALTH_TLS_KEY=str(stranger)
    )
    assert mismatch.startswith("invalid setting TELEHEALTH_TLS_KEY: ") and "not a PEM" in mismatch
    locked = tmp_path / "locked.pem"
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    locked.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pass phrase"),
        )
    )
    locked.chmod(0o600)
    encrypted = _refusal(monkeypatch, TELEHEALTH_TLS_CERT=str(cert), TELEHEALTH_TLS_KEY=str(locked))
    assert "encrypted with a pass phrase" in encrypted

    if os.geteuid() != 0:  # root reads any file
        key.chmod(0o000)
        assert "cannot be read" in _refusal(
            monkeypatch, TELEHEALTH_TLS_CERT=str(cert), TELEHEALTH_TLS_KEY=str(key)
        )


def test_production_refuses_a_public_url_that_is_not_https(tmp_path: Path) -> None:
    secret = "s" * 40
    plain = make_settings(tmp_path, env="production", secret_key=secret)
    refusal = insecure_production_url(plain)
    assert refusal is not None
    assert refusal.startswith("TELEHEALTH_PUBLIC_BASE_URL is http://127.0.0.1:8000: ")
    behind_proxy = make_settings(
        tmp_path, env="production", secret_key=secret, public_base_url="https://clinic.example"
    )
    assert insecure_production_url(behind_proxy) is None
    # Development over plain http stays possible.
    assert insecure_production_url(make_settings(tmp_path, env="development")) is None


def test_forwarded_headers_are_believed_only_from_the_configured_proxies(tmp_path: Path) -> None:
    alone = uvicorn_options(make_settings(tmp_path))
    assert alone["proxy_headers"] is False and alone["forwarded_allow_ips"] == []
    assert "ssl_certfile" not in alone
    proxied = uvicorn_options(make_settings(tmp_path, trusted_proxies="10.0.0.2, 10.0.0.3"))
    assert proxied["proxy_headers"] is True
    assert proxied["forwarded_allow_ips"] == ["10.0.0.2", "10.0.0.3"]


def test_request_cookies_over_https_are_the_prefixed_ones_only() -> None:
    header = b"th_clinician=planted; __Host-th_clinician=real; other=x; __Host-th_patient=p"
    assert host_cookie_header(header) == b"th_clinician=real; th_patient=p"
    assert host_cookie_header(b"th_clinician=planted") == b""
    assert host_cookie_header(b"__Host-=x; __Host-novalue") == b""


def test_set_cookie_over_https_is_a_host_cookie() -> None:
    assert (
        host_set_cookie(b"th_clinician=tok; HttpOnly; Max-Age=600; Path=/; SameSite=strict; Secure")
        == b"__Host-th_clinician=tok; HttpOnly; Max-Age=600; SameSite=strict; Path=/; Secure"
    )
    # A deletion (no Secure, as Starlette writes it) and a stray Domain or Path still
    # make a valid __Host- cookie, which browsers otherwise refuse to store.
    assert host_set_cookie(
        b'th_patient=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/x; Domain=a.b'
    ) == (b'__Host-th_patient=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; Secure')
