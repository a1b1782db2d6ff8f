"""Error pages for people: a browser navigating to a missing page gets HTML, not JSON.

The API (`/api/...`) and every client that does not ask for HTML first keep FastAPI's JSON
errors, which the pages' scripts read (`detail`).
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from telehealth.web.templates import page_templates

API_PREFIX = "/api/"
HTML_TYPES = ("text/html", "application/xhtml+xml")

# status -> (heading, explanation); anything else gets the generic wording.
MESSAGES = {
    404: (
        "Page not found",
        "There is no page at this address. The link may be mistyped or out of date.",
    ),
    500: (
        "Something went wrong",
        "The server could not show this page because of a problem on our side. "
        "Please try again in a moment; if it keeps happening, contact your clinic.",
    ),
}
GENERIC = ("This page cannot be shown", "The server could not show this page.")


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept.split(","):
        media, *params = (field.strip() for field in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            ranges.append((media.lower(), q))
    return ranges


def _quality(ranges: list[tuple[str, float]], media: str) -> tuple[float, int]:
    """The q value of `media` and how specifically it was matched (2 named, 1 `type/*`,
    0 `*/*`, -1 not at all): the most specific range decides (RFC 9110, 12.5.1)."""
    best = (0.0, -1)
    for candidate, q in ranges:
        if candidate == media:
            specificity = 2
        elif candidate == media.split("/")[0] + "/*":
            specificity = 1
        elif candidate == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best[1]:
            best = (q, specificity)
    return best


def wants_html(request: Request) -> bool:
    """True for a browser navigation: HTML named in Accept and preferred to JSON."""
    if request.scope.get("type") != "http" or request.url.path.startswith(API_PREFIX):
        return False
    ranges = _media_ranges(request.headers.get("accept", ""))
    # fetch() and API clients send */* (or JSON): only a named HTML type gets a page.
    named_html = [
        q for q, specificity in (_quality(ranges, m) for m in HTML_TYPES) if specificity == 2
    ]
    json_q, _ = _quality(ranges, "application/json")
    return bool(named_html) and max(named_html) > json_q


def error_page(
    request: Request, status: int, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    """The page for `status`: web/templates/error.html, which extends the site's base."""
    heading, explanation = MESSAGES.get(status, GENERIC)
    return page_templates().TemplateResponse(
        request,
        "error.html",
        {"heading": heading, "explanation": explanation, "status": status},
        status_code=status,
        headers={**(headers or {}), "Cache-Control": "no-store"},
    )


async def _http_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, StarletteHTTPException):  # registered for these only
        raise error
    if not wants_html(request):
        return await http_exception_handler(request, error)
    return error_page(request, error.status_code, error.headers)


async def _server_error(request: Request, error: Exception) -> Response:  # noqa: ARG001
    # Only the answer: Starlette re-raises the error afterwards, so the server still logs it.
    if wants_html(request):
        return error_page(request, 500)
    return JSONResponse({"detail": "Internal Server Error"}, status_code=500)


def install_error_pages(app: FastAPI) -> None:
    """Answer browser navigations that fail with an accessible HTML page."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)
