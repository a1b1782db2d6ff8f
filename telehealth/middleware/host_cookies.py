"""Over https, every cookie of ours travels as `__Host-<name>`: Secure, Path=/, no Domain.

Browsers accept a `__Host-` cookie only from a secure origin and only for exactly this host,
so neither a plain-http page on the network nor a sibling subdomain can plant or overwrite
a session cookie (session fixation, cookie tossing). The application keeps its own names
(`th_clinician`, `th_patient`, and any cookie added later) for HTTP and websocket alike:
this layer renames what it sets and what comes back, and over https drops every cookie
without the prefix, so a planted unprefixed cookie is never read. Over plain http
(development) cookies pass unchanged.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HOST_PREFIX = "__Host-"
SECURE_SCHEMES = frozenset({"https", "wss"})
# Messages that carry response headers (a websocket handshake may be refused with a
# response, or accepted with headers of its own).
RESPONSE_STARTS = frozenset(
    {"http.response.start", "websocket.accept", "websocket.http.response.start"}
)


def host_cookie_header(value: bytes) -> bytes:
    """A request `Cookie` header with only the `__Host-` cookies, their prefix removed."""
    kept = []
    for pair in value.split(b";"):
        name, equals, rest = pair.strip().partition(b"=")
        if equals and name.startswith(HOST_PREFIX.encode()) and len(name) > len(HOST_PREFIX):
            kept.append(name[len(HOST_PREFIX) :] + b"=" + rest)
    return b"; ".join(kept)


def host_set_cookie(value: bytes) -> bytes:
    """A `Set-Cookie` header made a `__Host-` cookie: prefixed, Secure, Path=/, no Domain."""
    cookie, *attributes = (part.strip() for part in value.split(b";"))
    name, _, rest = cookie.partition(b"=")
    if not name.startswith(HOST_PREFIX.encode()):
        name = HOST_PREFIX.encode() + name
    kept = [
        attribute
        for attribute in attributes
        if attribute.split(b"=", 1)[0].strip().lower() not in (b"domain", b"path", b"secure")
    ]
    return b"; ".join([name + b"=" + rest, *kept, b"Path=/", b"Secure"])


class HostPrefixedCookies:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        # The public URL is https: a proxy that forgot X-Forwarded-Proto still gets them.
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not (
            self.https or scope.get("scheme") in SECURE_SCHEMES
        ):
            await self.app(scope, receive, send)
            return
        headers = []
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                value = host_cookie_header(value)
                if not value:
                    continue
            headers.append((name, value))

        async def send_prefixed(message: Message) -> None:
            if message["type"] in RESPONSE_STARTS and "headers" in message:
                message = {
                    **message,
                    "headers": [
                        (name, host_set_cookie(value) if name.lower() == b"set-cookie" else value)
                        for name, value in message["headers"]
                    ],
                }
            await send(message)

        await self.app({**scope, "headers": headers}, receive, send_prefixed)
