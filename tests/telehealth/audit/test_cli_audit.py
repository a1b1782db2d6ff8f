"""`telehealth audit verify` and `telehealth audit export`, run as an operator would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent

from telehealth import audit
from telehealth.storage import Database
from tests.telehealth.audit.conftest import START, append_events, raw
from tests.telehealth.test_cli import telehealth


async def _seed(database: Database) -> None:
    await append_events(database, 4)  # 1-4, an hour apart from START
    async with database.session() as session:
        audit.record(
            session,
            actor_type="patient",
            actor_id="f" * 64,
            action="intake.viewed",
            visit_id="a" * 32,
            client_address="2001:db8::5",
            outcome="not_found",
        ).at = START.replace(day=20)
        audit.record(
            session, actor_type="system", actor_id=None, action="staff.disabled"
        ).at = START.replace(day=21)


@pytest.mark.asyncio
async def test_verify_passes_then_names_an_edited_and_a_deleted_row(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    await _seed(database)
    intact = telehealth(tmp_path, "audit", "verify", TELEHEALTH_DATABASE_URL=database_url)
    assert intact.returncode == 0, intact.stderr
    assert "audit trail intact: 6 events" in intact.stdout

    await raw(database, """UPDATE audit_events SET detail = '{"n": 7}' WHERE id = 2""")
    edited = telehealth(tmp_path, "audit", "verify", TELEHEALTH_DATABASE_URL=database_url)
    assert edited.returncode == 3
    assert "BROKEN at event 2:" in edited.stderr and "Traceback" not in edited.stderr

    await raw(database, """UPDATE audit_events SET detail = '{"n": 1}' WHERE id = 2""")
    assert (
        telehealth(tmp_path, "audit", "verify", TELEHEALTH_DATABASE_URL=database_url).returncode
        == 0
    )
    await raw(database, "DELETE FROM audit_events WHERE id = 3")
    deleted = telehealth(tmp_path, "audit", "verify", TELEHEALTH_DATABASE_URL=database_url)
    assert deleted.returncode == 3
    assert "BROKEN at event 4:" in deleted.stderr and "event 2" in deleted.stderr


@pytest.mark.asyncio
async def test_export_writes_fhir_audit_events_since_a_date(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    await _seed(database)
    result = telehealth(
        tmp_path,
        "audit",
        "export",
        "--since",
        "2026-01-05T10:00:00",
        TELEHEALTH_DATABASE_URL=database_url,
        TELEHEALTH_PUBLIC_BASE_URL="https://clinic.example",
    )
    assert result.returncode == 0, result.stderr
    resources = [json.loads(line) for line in result.stdout.splitlines()]
    # Events 1 and 2 (08:00, 09:00) are before --since.
    assert [resource["id"] for resource in resources] == ["3", "4", "5", "6"]
    for resource in resources:
        FhirAuditEvent.model_validate(resource)
        assert resource["resourceType"] == "AuditEvent"
    viewed, refused, operator = resources[0], resources[2], resources[3]
    assert viewed["type"]["code"] == "110110"
    assert viewed["subtype"] == [
        {
            "system": "https://clinic.example/fhir/CodeSystem/audit-action",
            "code": "transcript.viewed",
        }
    ]
    assert (viewed["action"], viewed["outcome"]) == ("R", "0")
    assert viewed["recorded"] == "2026-01-05T10:00:00.000000+00:00"
    assert viewed["agent"] == [
        {
            "who": {
                "identifier": {
                    "system": "https://clinic.example/identifiers/staff",
                    "value": "clin2",
                }
            },
            "requestor": True,
            "type": {"coding": [{"system": audit_role_class(), "code": "PROV"}]},
            "network": {"address": "192.0.2.7", "type": "2"},
        }
    ]
    assert viewed["entity"][0]["what"] == {"reference": "Encounter/visit2"}
    assert (refused["outcome"], refused["outcomeDesc"]) == ("4", "not_found")
    assert refused["agent"][0]["who"]["identifier"]["system"].endswith("/patient-session")
    assert refused["agent"][0]["network"] == {"address": "2001:db8::5", "type": "2"}
    assert operator["agent"][0]["who"] == {"display": "system"}
    assert operator["action"] == "U" and "network" not in operator["agent"][0]
    assert [e["type"]["code"] for e in operator["entity"]] == ["4"]  # no visit: chain only
    assert "4 audit events exported" in result.stderr

    everything = telehealth(tmp_path, "audit", "export", TELEHEALTH_DATABASE_URL=database_url)
    assert len(everything.stdout.splitlines()) == 6


def audit_role_class() -> str:
    return "http://terminology.hl7.org/CodeSystem/v3-RoleClass"


def test_export_refuses_a_since_that_is_not_a_date(tmp_path: Path) -> None:
    result = telehealth(tmp_path, "audit", "export", "--since", "last tuesday")
    assert result.returncode == 1
    assert result.stderr.startswith("error: --since is not an ISO date")
