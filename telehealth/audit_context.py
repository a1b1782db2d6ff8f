"""Pure ASGI middleware: the audit events of a request carry its client and patient session.

The client address is the ASGI peer, which uvicorn has already replaced by the forwarded
one when the peer is a trusted proxy (`TELEHEALTH_TRUSTED_PROXIES`), so it matches
`request.client.host`. The patient actor is derived from the patient cookie's hash; it is
used only for events recorded as `patient`, which happen after that cookie's session was
accepted.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from starlette.types import ASGIApp, Receive, Scope, Send

from telehealth.audit import RequestOrigin, patient_actor_id, request_origin
from telehealth.auth.sessions import PATIENT_COOKIE
from telehealth.security import hash_token


def _patient_cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name != b"cookie":
            continue
        cookies = SimpleCookie()
        try:
            cookies.load(value.decode("latin-1"))
        except CookieError:
            return None
        morsel = cookies.get(PATIENT_COOKIE)
        if morsel is not None and morsel.value:
            return morsel.value
    return None


def origin_of(scope: Scope) -> RequestOrigin:
    client = scope.get("client")
    token = _patient_cookie(scope)
    return RequestOrigin(
        client_address=client[0] if client else None,
        patient_actor_id=patient_actor_id(hash_token(token)) if token else None,
    )


class AuditRequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        reset = request_origin.set(origin_of(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            request_origin.reset(reset)
