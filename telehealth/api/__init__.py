"""HTTP routes, one module per resource, gathered into one router."""

from __future__ import annotations

from fastapi import APIRouter

from telehealth.api import auth, health, ice, patient, visits


def api_router() -> APIRouter:
    router = APIRouter()
    for module in (health, auth, visits, patient, ice):
        router.include_router(module.router)
    return router
