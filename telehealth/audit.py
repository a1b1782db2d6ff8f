"""The audit trail: who did what to which visit, from where, with what outcome.

Identifiers only, never PHI. Events are chained as they are flushed
(`telehealth/audit_chain.py`) and commit with the transaction that records them.

Inside an HTTP request or websocket, `RequestOrigin` (set by
`telehealth.audit_context.AuditRequestContext`) supplies what a caller does not pass: the
client address, and for a patient's event the hash that stands for the patient session the
request was authenticated as (noted by `auth.sessions.resolve`).
"""

from __future__ import annotations

import hashlib
import re
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit_chain
from telehealth.storage.models import AuditEvent

ActorType = Literal["clinician", "patient", "admin", "system"]
# "denied": the caller may not; "not_found": nothing of theirs there (which includes another
# clinician's visit, told apart from a missing one only here).
Outcome = Literal["success", "denied", "not_found", "invalid", "error"]

audit_chain.install()

# An identifier the caller typed (a path segment) is kept only if it looks like one of ours.
_IDENTIFIER = re.compile(r"[A-Za-z0-9-]{1,32}")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who an account change is recorded against: an admin, or the operator (`system`)."""

    type: ActorType
    id: str | None = None


# An operator at the server's command line.
SYSTEM = Actor("system")


@dataclass(frozen=True, slots=True)
class RequestOrigin:
    """Where the current request comes from, for the events it records."""

    client_address: str | None
    # The audit id of the patient session this request was authenticated as, once it was.
    patient_actor_id: str | None = None


request_origin: ContextVar[RequestOrigin | None] = ContextVar("audit_request_origin", default=None)


def note_patient_session(session_hash: str) -> None:
    """The current request is this patient session's (called where a session is accepted)."""
    origin = request_origin.get()
    if origin is not None:
        request_origin.set(replace(origin, patient_actor_id=patient_actor_id(session_hash)))


def patient_actor_id(session_hash: str) -> str:
    """The audit id of a patient session: a hash of the session's stored hash.

    Stable across the session's events, never the token, and not the sessions table's key.
    """
    return hashlib.sha256(f"telehealth-audit-patient:{session_hash}".encode()).hexdigest()


def requested_identifier(value: str) -> str | None:
    """An identifier from a request, kept for the trail only if it has the shape of one."""
    return value if _IDENTIFIER.fullmatch(value) else None


def record(
    session: AsyncSession,
    *,
    actor_type: ActorType,
    actor_id: str | None,
    action: str,
    visit_id: str | None = None,
    detail: dict[str, Any] | None = None,
    client_address: str | None = None,
    outcome: Outcome = "success",
) -> AuditEvent:
    origin = request_origin.get()
    if origin is not None:
        client_address = client_address or origin.client_address
        if actor_type == "patient" and actor_id is None:
            actor_id = origin.patient_actor_id
    event = AuditEvent(
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        visit_id=visit_id,
        detail=detail or {},
        client_address=client_address[:64] if client_address else None,
        outcome=outcome,
    )
    session.add(event)
    return event
