"""How `telehealth serve` runs uvicorn: TLS, which peers may speak for clients, websockets.

One place, so the command and the tests that start a live server run the same server.
"""

from __future__ import annotations

import ssl
from typing import Any

from signaling.messages import MAX_FRAME_BYTES
from telehealth.settings import Settings

INSECURE_PRODUCTION_URL = (
    "TELEHEALTH_PUBLIC_BASE_URL is {url}: in production the service must be reached over "
    "https (browsers give camera and microphone only to secure contexts, and sign-in "
    "cookies must not cross the network in clear); set it to the https:// address people "
    "open, served by TELEHEALTH_TLS_CERT/TELEHEALTH_TLS_KEY or by a proxy that ends TLS"
)


def insecure_production_url(settings: Settings) -> str | None:
    """Why this configuration must not start, or None: a production public URL not https."""
    if settings.env == "production" and not settings.serves_https:
        return INSECURE_PRODUCTION_URL.format(url=settings.public_base_url)
    return None


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config`, the app aside."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "ws": "websockets-sansio",
        "ws_max_size": MAX_FRAME_BYTES,
        "ws_per_message_deflate": False,
        # Only a configured reverse proxy may say who the client is and whether it used
        # TLS; without one the headers are not even looked at (and uvicorn's own default,
        # trusting 127.0.0.1 or $FORWARDED_ALLOW_IPS, never applies).
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": list(settings.trusted_proxies),
        "server_header": False,
        "timeout_graceful_shutdown": 10,
    }
    if settings.tls_cert is not None and settings.tls_key is not None:
        # PROTOCOL_TLS_SERVER negotiates TLS 1.2 or 1.3 only (Python's default minimum).
        options.update(
            ssl_certfile=str(settings.tls_cert),
            ssl_keyfile=str(settings.tls_key),
            ssl_version=ssl.PROTOCOL_TLS_SERVER,
        )
    return options
