"""The HTML pages: clean URLs for the static files in `web/`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from telehealth.web_root import find_web_root

# URL path -> file in web/
PAGES = {
    "/": "index.html",
    "/clinician": "clinician.html",
    "/clinician/call": "clinician-call.html",
    "/clinician/review": "review.html",
    "/join": "join.html",
}


def pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    root = find_web_root()

    def page(filename: str) -> FileResponse:
        return FileResponse(root / filename, media_type="text/html; charset=utf-8")

    for path, filename in PAGES.items():
        router.add_api_route(path, lambda filename=filename: page(filename), methods=["GET"])
    return router
