"""Security headers on every HTTP response, errors included."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere (pages load /static files only), no framing, no
# plugins; websockets to this origin are covered by 'self'.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
PERMISSIONS_POLICY = (
    "camera=(self), microphone=(self), display-capture=(self), geolocation=(), "
    "payment=(), usb=(), serial=(), bluetooth=()"
)
HSTS = "max-age=31536000; includeSubDomains"
ALWAYS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "permissions-policy": PERMISSIONS_POLICY,
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
# Static files (CSS, scripts, icons) hold no PHI and may be cached; everything else may:
# API answers, and pages that fill themselves with patient data.
CACHEABLE_PREFIX = "/static/"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        over_https = self.https or scope.get("scheme") == "https"
        cacheable = str(scope.get("path", "")).startswith(CACHEABLE_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A fresh list: an app may have sent its headers as a tuple.
                message["headers"] = raw = list(message.get("headers", []))
                headers = MutableHeaders(raw=raw)
                for name, value in ALWAYS.items():
                    headers[name] = value
                if over_https:
                    headers["strict-transport-security"] = HSTS
                if not cacheable:
                    headers["cache-control"] = "no-store"
                    headers["pragma"] = "no-cache"
            await send(message)

        await self.app(scope, receive, send_with_headers)
