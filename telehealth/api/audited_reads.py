"""Auditing a read of PHI from a route: the read that was served, and the one refused.

A refusal is returned (not raised) so the request's unit of work commits and the refusal's
audit event with it; raising would roll the event back with everything else.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.auth.sessions import Principal
from telehealth.storage.models import SessionKind


def _actor(principal: Principal) -> tuple[audit.ActorType, str | None]:
    if principal.kind == SessionKind.patient:
        return "patient", audit.patient_actor_id(principal.session_hash)
    return "clinician", principal.clinician_id


def record_read(
    session: AsyncSession,
    principal: Principal,
    action: str,
    *,
    visit_id: str | None = None,
    detail: dict[str, Any] | None = None,
    outcome: audit.Outcome = "success",
) -> None:
    actor_type, actor_id = _actor(principal)
    kept_visit_id = audit.requested_identifier(visit_id) if visit_id else None
    if visit_id and kept_visit_id is None:
        # Whatever was typed in the path stays out of the trail; only that it was odd.
        detail = {**(detail or {}), "visit_id": "malformed"}
    audit.record(
        session,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        visit_id=kept_visit_id,
        detail=detail,
        outcome=outcome,
    )


def refused_read(
    session: AsyncSession,
    principal: Principal,
    action: str,
    *,
    visit_id: str,
    status_code: int,
    message: str,
    outcome: audit.Outcome = "not_found",
    detail: dict[str, Any] | None = None,
) -> JSONResponse:
    """Record the refused read and return the error response (FastAPI's shape)."""
    record_read(session, principal, action, visit_id=visit_id, detail=detail, outcome=outcome)
    return JSONResponse({"detail": message}, status_code=status_code)
