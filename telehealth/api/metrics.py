"""Prometheus metrics: for the monitoring addresses (settings) and signed-in admins only."""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Request, Response

from telehealth.auth.deps import admin_or_not_found
from telehealth.auth.sessions import CLINICIAN_COOKIE
from telehealth.deps import ServicesDep, SessionDep, SettingsDep
from telehealth.metrics import CONTENT_TYPE
from telehealth.settings import Settings

router = APIRouter(tags=["monitoring"])


def from_monitoring(request: Request, settings: Settings) -> bool:
    """Whether the client (behind a trusted proxy: the forwarded one) may scrape freely."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(allowed, strict=False)
        for allowed in settings.metrics_allowed_addresses
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(
    request: Request, services: ServicesDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """This process's metrics in Prometheus text format; 404 to anyone else."""
    if not from_monitoring(request, settings):
        await admin_or_not_found(request, session, settings, request.cookies.get(CLINICIAN_COOKIE))
    return Response(services.metrics.exposition(), media_type=CONTENT_TYPE)
