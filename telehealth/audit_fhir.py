"""Audit events as FHIR R4 AuditEvent resources (for a SIEM or an auditor), one a line.

`type` is the DICOM audit event class, `subtype` our action name, `action` the CRUDE
letter, `outcome` 0 (success) or 4 (refused, minor failure). The requesting agent is the
staff id, the patient session's audit id or the operator, with the client address; the
entity is the visit, as an Encounter. The event's chain hash travels in `entity.detail` of
a second entity so a copy can be checked against the database later.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.audit_chain import canonical_time
from telehealth.storage.models import AuditEvent

DICOM = "http://dicom.nema.org/resources/ontology/DCM"
ROLE_CLASS = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
BATCH = 1000

# (prefix or word of the action, DICOM code, display); the first that matches wins.
_TYPES: tuple[tuple[str, str, str], ...] = (
    ("exported", "110106", "Export"),
    ("searched", "110112", "Query"),
    ("login", "110114", "User Authentication"),
    ("logout", "110114", "User Authentication"),
    ("session.", "110114", "User Authentication"),
    ("invite.", "110114", "User Authentication"),
    ("mfa.", "110114", "User Authentication"),
    ("transcript.", "110110", "Patient Record"),
    ("intake.", "110110", "Patient Record"),
    ("consent.", "110110", "Patient Record"),
    ("visit.", "110110", "Patient Record"),
)
APPLICATION_ACTIVITY = ("110100", "Application Activity")
# The last word of an action says what kind of access it was.
_CRUDE: dict[str, str] = {
    "created": "C",
    "issued": "C",
    "added": "C",
    "submitted": "C",
    "viewed": "R",
    "listed": "R",
    "read": "R",
    "history_viewed": "R",
    "exported": "R",
    "corrected": "U",
    "segment_corrected": "U",
    "updated": "U",
    "changed": "U",
    "enabled": "U",
    "disabled": "U",
    "extended": "U",
    "deleted": "D",
    "purged": "D",
    "revoked": "D",
    "sessions_revoked": "D",
}
_OUTCOME = {"success": "0", "denied": "4", "not_found": "4", "invalid": "4", "error": "8"}
_ROLE = {"patient": "PAT", "clinician": "PROV", "admin": "EMP"}


def _event_type(action: str) -> tuple[str, str]:
    for marker, code, display in _TYPES:
        if action.startswith(marker) or action.endswith(marker):
            return code, display
    return APPLICATION_ACTIVITY


def _crude(action: str) -> str:
    verb = action.rsplit(".", 1)[-1]
    return _CRUDE.get(verb, "E")


def _network_type(address: str) -> str:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return "1"  # a machine name
    return "2"  # an IP address


def _agent(event: AuditEvent, base_url: str) -> dict[str, Any]:
    who: dict[str, Any]
    if event.actor_id:
        system = "patient-session" if event.actor_type == "patient" else "staff"
        identifier = {"system": f"{base_url}/identifiers/{system}", "value": event.actor_id}
        who = {"identifier": identifier}
    else:
        who = {"display": event.actor_type}
    agent: dict[str, Any] = {"who": who, "requestor": True}
    role = _ROLE.get(event.actor_type)
    if role:
        agent["type"] = {"coding": [{"system": ROLE_CLASS, "code": role}]}
    if event.client_address:
        agent["network"] = {
            "address": event.client_address,
            "type": _network_type(event.client_address),
        }
    return agent


def event_to_fhir(event: AuditEvent, base_url: str) -> dict[str, Any]:
    """One stored event as a FHIR R4 AuditEvent resource (a plain dict)."""
    code, display = _event_type(event.action)
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(event.id),
        "type": {"system": DICOM, "code": code, "display": display},
        "subtype": [{"system": f"{base_url}/fhir/CodeSystem/audit-action", "code": event.action}],
        "action": _crude(event.action),
        "recorded": canonical_time(event.at),
        "outcome": _OUTCOME.get(event.outcome, "8"),
        "outcomeDesc": event.outcome,
        "agent": [_agent(event, base_url)],
        "source": {
            "observer": {"display": "telehealth"},
            "type": [{"system": SOURCE_TYPE, "code": "4", "display": "Application Server"}],
        },
    }
    entities: list[dict[str, Any]] = []
    if event.visit_id:
        entities.append(
            {
                "what": {"reference": f"Encounter/{event.visit_id}"},
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
            }
        )
    entities.append(
        {
            "type": {"system": ENTITY_TYPE, "code": "4", "display": "Other"},
            "name": "audit-chain",
            "detail": [
                {"type": "prev_hash", "valueString": event.prev_hash},
                {"type": "hash", "valueString": event.hash},
            ],
        }
    )
    resource["entity"] = entities
    return resource


async def fhir_ndjson(
    session: AsyncSession, base_url: str, since: datetime | None = None
) -> AsyncIterator[str]:
    """Every event (from `since` on), oldest first, one AuditEvent JSON a line."""
    after = 0
    while True:
        query = select(AuditEvent).where(AuditEvent.id > after)
        if since is not None:
            query = query.where(AuditEvent.at >= since)
        rows = list((await session.execute(query.order_by(AuditEvent.id).limit(BATCH))).scalars())
        if not rows:
            return
        for row in rows:
            yield json.dumps(event_to_fhir(row, base_url), separators=(",", ":")) + "\n"
        after = rows[-1].id
        session.expunge_all()
