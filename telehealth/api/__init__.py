"""HTTP routes, one module per resource, gathered into one router."""

from __future__ import annotations

from fastapi import APIRouter

from telehealth.api import health


def api_router() -> APIRouter:
    router = APIRouter()
    router.include_router(health.router)
    return router
