"""Refuse state-changing requests that a browser sent on behalf of another site.

Session cookies are SameSite=Strict already; this is the second, independent line (OWASP's
"verify origin with standard headers"): an unsafe method whose `Origin` is not one of ours,
or that the browser marks `Sec-Fetch-Site: cross-site`, is answered 403 before any route
runs. Requests without either header (command-line clients, server to server) pass.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DETAIL = "requests from other sites are refused"


def is_allowed_origin(origin: str | None, allowed: Iterable[str]) -> bool:
    """Whether a browser's `Origin` header names one of our origins (never for `null`)."""
    if not origin:
        return False
    return origin.strip().rstrip("/").lower() in set(allowed)


class CrossSiteGuard:
    def __init__(self, app: ASGIApp, *, allowed_origins: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            cross_site = headers.get("sec-fetch-site", "").lower() == "cross-site"
            if cross_site or (origin is not None and not is_allowed_origin(origin, self.allowed)):
                response = JSONResponse({"detail": DETAIL}, status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
