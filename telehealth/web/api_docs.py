"""The API description (/docs, /openapi.json) outside development: signed-in admins only.

It helps developers and attackers alike, so anyone else is answered 404, as if it did
not exist; in development FastAPI serves it openly.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from telehealth.auth.deps import AdminOrNotFound


def admin_docs_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/openapi.json")
    async def openapi(request: Request, _admin: AdminOrNotFound) -> dict[str, Any]:
        return request.app.openapi()  # type: ignore[no-any-return]

    @router.get("/docs")
    async def docs(request: Request, _admin: AdminOrNotFound) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=request.app.title)

    return router
