"""The admin console page, served to admins only (401 signed out, 403 for a clinician,
each as the HTML error page); its API calls are checked again on the server."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from telehealth.auth.deps import CurrentAdmin
from telehealth.web.templates import page_templates


def admin_page_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    templates = page_templates()

    @router.get("/admin", response_class=HTMLResponse)
    def admin_page(request: Request, _admin: CurrentAdmin) -> HTMLResponse:
        return templates.TemplateResponse(request, "admin.html")

    return router
