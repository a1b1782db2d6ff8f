"""Refuse request bodies over a limit with 413, before they are read whole.

A declared Content-Length over the limit is refused at once; a streamed (chunked) body is
counted as it arrives and refused as soon as it passes the limit, so a large upload never
sits in memory.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DETAIL = "the request body is too large"


class BodyTooLarge(HTTPException):
    """Raised from `receive`: FastAPI passes HTTPExceptions through as their status."""

    def __init__(self) -> None:
        super().__init__(413, DETAIL)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        async def noting_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, noting_send)
        except BodyTooLarge:
            # Read by something that does not answer HTTPExceptions itself.
            if started:
                raise
            await _refuse(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    # Connection: close, so the server does not read the rest of the body to reuse it.
    response = JSONResponse({"detail": DETAIL}, status_code=413, headers={"connection": "close"})
    await response(scope, receive, send)
