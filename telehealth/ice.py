"""ICE servers for browsers, with time-limited TURN credentials (coturn `use-auth-secret`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any


def turn_credentials(
    secret: str, user: str, ttl_s: int, now: float | None = None
) -> tuple[str, str]:
    """coturn REST credentials: `expiry:user` and base64(HMAC-SHA1(secret, username))."""
    expiry = int((now if now is not None else time.time()) + ttl_s)
    username = f"{expiry}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(
    urls: list[str], *, turn_secret: str | None, user: str, ttl_s: int, now: float | None = None
) -> list[dict[str, Any]]:
    """The RTCIceServer list for a browser; empty when nothing is configured."""
    stun = [url for url in urls if url.startswith("stun:")]
    turn = [url for url in urls if url.startswith(("turn:", "turns:"))]
    servers: list[dict[str, Any]] = []
    if stun:
        servers.append({"urls": stun})
    if turn and turn_secret:
        username, credential = turn_credentials(turn_secret, user, ttl_s, now)
        servers.append({"urls": turn, "username": username, "credential": credential})
    return servers
