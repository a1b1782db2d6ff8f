"""The admin API: staff accounts and the audit log. Admins only (403 for a clinician)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from telehealth import audit
from telehealth.audit_log import EXPORT_LIMIT, AuditFilter, as_ndjson, event_fields, find_events
from telehealth.auth.deps import CurrentAdmin
from telehealth.auth.sessions import Principal
from telehealth.clinicians import ClinicianExists, create_clinician
from telehealth.deps import ServicesDep, SessionDep
from telehealth.security import WeakPassword
from telehealth.staff_admin import (
    RefusedOnOneself,
    StaffNotFound,
    get_staff,
    list_staff,
    reset_second_factor,
    revoke_sessions,
    set_active,
)
from telehealth.storage.models import Clinician, StaffRole

router = APIRouter(prefix="/api/admin", tags=["admin"])
StaffAction = Literal["disable", "enable", "reset-mfa", "revoke-sessions"]


class StaffOut(BaseModel):
    id: str
    email: str
    display_name: str
    role: StaffRole
    active: bool
    must_change_password: bool
    created_at: datetime


class StaffListOut(BaseModel):
    staff: list[StaffOut]


class StaffCreate(BaseModel):
    email: str = Field(max_length=320)
    display_name: str = Field(min_length=1, max_length=200)
    role: StaffRole = StaffRole.clinician
    temporary_password: str = Field(min_length=1, max_length=1024)


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor_type: str
    actor_id: str | None
    action: str
    visit_id: str | None
    detail: dict[str, object]
    client_address: str | None
    outcome: str
    prev_hash: str
    hash: str


class AuditEventsOut(BaseModel):
    events: list[AuditEventOut]


def _out(clinician: Clinician) -> StaffOut:
    return StaffOut(
        id=clinician.id,
        email=clinician.email,
        display_name=clinician.display_name,
        role=StaffRole(clinician.role),
        active=clinician.is_active,
        must_change_password=clinician.must_change_password,
        created_at=clinician.created_at,
    )


def _actor(admin: Principal) -> audit.Actor:
    return audit.Actor("admin", admin.clinician_id)


@router.get("/staff")
async def staff_list(_admin: CurrentAdmin, session: SessionDep) -> StaffListOut:
    """Every staff account, by email."""
    return StaffListOut(staff=[_out(row) for row in await list_staff(session)])


@router.post("/staff", status_code=status.HTTP_201_CREATED)
async def staff_create(body: StaffCreate, admin: CurrentAdmin, session: SessionDep) -> StaffOut:
    """A new account with a temporary password, which its first sign-in must change."""
    try:
        created = await create_clinician(
            session,
            email=body.email,
            display_name=body.display_name,
            password=body.temporary_password,
            role=body.role,
            temporary_password=True,
            actor=_actor(admin),
        )
    except ClinicianExists as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except (WeakPassword, ValueError) as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    return _out(created)


@router.post("/staff/{clinician_id}/{action}")
async def staff_action(
    clinician_id: str,
    action: StaffAction,
    admin: CurrentAdmin,
    session: SessionDep,
    services: ServicesDep,
) -> StaffOut:
    """Disable or enable an account, remove its second factor, or sign it out everywhere.
    All but enabling end its sessions; its open calls close within seconds."""
    actor = _actor(admin)
    try:
        target = await get_staff(session, clinician_id)
        if action in ("disable", "enable"):
            await set_active(session, target, active=action == "enable", actor=actor)
        elif action == "reset-mfa":
            await reset_second_factor(session, target, actor=actor)
        else:
            await revoke_sessions(session, target, actor=actor)
    except StaffNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except RefusedOnOneself as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    if action != "enable":
        # Commit first: a process told of the change must find it when it looks.
        await session.commit()
        await services.revocations.announce(target.id)
    return _out(target)


def _filter(
    action: str | None, actor: str | None, since: datetime | None, until: datetime | None
) -> AuditFilter:
    return AuditFilter(action=action, actor_id=actor, since=since, until=until)


Action = Annotated[str | None, Query(max_length=64)]
ActorId = Annotated[str | None, Query(max_length=64)]


@router.get("/audit")
async def audit_events(
    _admin: CurrentAdmin,
    session: SessionDep,
    action: Action = None,
    actor: ActorId = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AuditEventsOut:
    """Audit events, newest first: by action, by actor id, from `since`, before `until`."""
    events = await find_events(session, _filter(action, actor, since, until), limit=limit)
    return AuditEventsOut(events=[AuditEventOut(**event_fields(event)) for event in events])


@router.get("/audit/export", response_class=StreamingResponse)
async def audit_export(
    admin: CurrentAdmin,
    session: SessionDep,
    action: Action = None,
    actor: ActorId = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StreamingResponse:
    """The same events as NDJSON (one JSON object a line), to keep or to hand to a SIEM."""
    wanted = _filter(action, actor, since, until)
    events = await find_events(session, wanted, limit=EXPORT_LIMIT)
    audit.record(
        session,
        actor_type="admin",
        actor_id=admin.clinician_id,
        action="audit.exported",
        detail={"events": len(events)},
    )
    return StreamingResponse(
        as_ndjson(events),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="audit.ndjson"'},
    )
