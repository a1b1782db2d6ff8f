"""Pure ASGI middleware: the audit events of a request or websocket carry its client address.

The address is the ASGI peer, which uvicorn has already replaced by the forwarded one when
the peer is a trusted proxy (`TELEHEALTH_TRUSTED_PROXIES`), so it matches
`request.client.host`. Tasks a request starts inherit it, as they act for that client.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from telehealth.audit import RequestOrigin, request_origin


class AuditRequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        reset = request_origin.set(RequestOrigin(client_address=client[0] if client else None))
        try:
            await self.app(scope, receive, send)
        finally:
            request_origin.reset(reset)
