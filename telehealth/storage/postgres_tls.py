"""PostgreSQL TLS from settings, as asyncpg's ``ssl`` connect argument.

asyncpg takes libpq's sslmode names as strings, but a string cannot carry the CA file: for
verify-ca and verify-full with a root certificate we build the SSL context ourselves.
"""

from __future__ import annotations

import ssl
from pathlib import Path

VERIFYING_MODES = ("verify-ca", "verify-full")


def postgres_ssl_argument(
    mode: str | None,
    *,
    root_cert: Path | None = None,
    client_cert: Path | None = None,
    client_key: Path | None = None,
) -> ssl.SSLContext | str | None:
    """None (asyncpg's default), an sslmode string, or a verifying SSLContext."""
    if mode is None:
        if root_cert is not None or client_cert is not None:
            raise ValueError("must be set when database_sslrootcert or database_sslcert is")
        return None
    if mode not in VERIFYING_MODES:
        if client_cert is None:
            return mode
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        # Without a root certificate, the system's trust store (libpq's sslrootcert=system).
        context = ssl.create_default_context(
            cafile=str(root_cert) if root_cert is not None else None
        )
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = mode == "verify-full"
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if client_cert is not None:
        context.load_cert_chain(
            str(client_cert), str(client_key) if client_key is not None else None
        )
    return context
