"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from telehealth.deps import ServicesDep
from telehealth.storage import DatabaseUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    """The database answers and the speech engines are loaded."""
    body: dict[str, Any] = {}
    ready = True
    try:
        await services.database.ping()
        body["database"] = {"ok": True, "dialect": services.database.dialect}
    except DatabaseUnavailable:
        ready = False
        body["database"] = {"ok": False, "dialect": services.database.dialect}
    body["speech"] = services.speech.status()
    ready = ready and bool(body["speech"]["ok"])
    body["status"] = "ready" if ready else "not_ready"
    return JSONResponse(body, status_code=200 if ready else 503)
