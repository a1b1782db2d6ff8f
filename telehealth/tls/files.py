"""Checks of TELEHEALTH_TLS_CERT / TELEHEALTH_TLS_KEY, made when settings load, so a bad
file stops the start with one line naming the setting instead of a TLS traceback."""

from __future__ import annotations

import ssl
import stat
from datetime import datetime
from pathlib import Path

from cryptography import x509

# Group or other users may neither read nor change a private key.
KEY_MODE_FORBIDDEN = stat.S_IRWXG | stat.S_IRWXO


def check_tls_files(cert: Path | None, key: Path | None) -> None:
    """Raise ValueError("tls_cert: ..." or "tls_key: ...") unless both are unset, or both
    name readable PEM files that belong together and the key is its owner's only."""
    if cert is None and key is None:
        return
    if cert is None:
        raise ValueError("tls_cert: must be set too when TELEHEALTH_TLS_KEY is (both or neither)")
    if key is None:
        raise ValueError("tls_key: must be set too when TELEHEALTH_TLS_CERT is (both or neither)")
    _readable("tls_cert", cert)
    _readable("tls_key", key)
    mode = stat.S_IMODE(key.stat().st_mode)
    if mode & KEY_MODE_FORBIDDEN:
        raise ValueError(
            f"tls_key: {key} is open to other users (mode {mode:o}); "
            f"make it readable by its owner only: chmod 600 {key}"
        )
    _belong_together(cert, key)


def _readable(setting: str, path: Path) -> None:
    if not path.is_file():
        raise ValueError(f"{setting}: there is no file at {path}")
    try:
        with path.open("rb") as file:
            file.read(1)
    except OSError as error:
        raise ValueError(f"{setting}: {path} cannot be read ({error.strerror})") from None


def _belong_together(cert: Path, key: Path) -> None:
    asked_for_pass_phrase = False

    def no_pass_phrase() -> bytes:
        # Without a callback OpenSSL would prompt on the terminal, and a service has none.
        nonlocal asked_for_pass_phrase
        asked_for_pass_phrase = True
        return b""

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key, password=no_pass_phrase)
    except ssl.SSLError as error:
        if asked_for_pass_phrase:
            raise ValueError(
                f"tls_key: {key} is encrypted with a pass phrase; give the server an "
                "unencrypted key (readable by its owner only)"
            ) from None
        raise ValueError(
            f"tls_key: {key} and the certificate {cert} are not a PEM certificate and its "
            f"private key ({error.reason or error})"
        ) from None


def certificate_not_after(cert: Path) -> datetime:
    """When the (first) certificate in a PEM file expires, in UTC."""
    return x509.load_pem_x509_certificate(cert.read_bytes()).not_valid_after_utc
