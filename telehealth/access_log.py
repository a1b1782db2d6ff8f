"""One log line per request: method, route template, status, duration. Never raw URLs."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telehealth.metrics import ServiceMetrics

log = logging.getLogger("telehealth.access")

# Any token is a method to HTTP; a metrics label must stay a short list.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, metrics: ServiceMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            # The template (/api/visits/{visit_id}) names the resource without its values.
            path = getattr(route, "path", None) or "(unmatched)"
            if self.metrics is not None:
                method = scope["method"] if scope["method"] in _METHODS else "other"
                self.metrics.requests.labels(method, path, str(status)).inc()
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
