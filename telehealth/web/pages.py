"""The HTML pages: clean URLs for the templates in `web/templates/`."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from telehealth.web.templates import page_templates

# URL path -> template
PAGES = {
    "/": "index.html",
    "/clinician": "clinician.html",
    "/clinician/call": "clinician-call.html",
    "/clinician/review": "review.html",
    "/clinician/security": "security.html",
    "/join": "join.html",
}


def pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    templates = page_templates()

    def page_for(template: str) -> Callable[[Request], HTMLResponse]:
        def page(request: Request) -> HTMLResponse:
            return templates.TemplateResponse(request, template)

        return page

    for path, template in PAGES.items():
        router.add_api_route(path, page_for(template), methods=["GET"], response_class=HTMLResponse)
    return router
