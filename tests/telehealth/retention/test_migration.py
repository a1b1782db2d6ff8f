"""Migration 0010: a completed intake stored before versions existed becomes version 1,
an unfinished one none; the downgrade removes the table and the column."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, select

from telehealth.storage import Database, upgrade_database
from telehealth.storage.migrate import alembic_config
from telehealth.storage.models import (
    Clinician,
    IntakeResponse,
    IntakeResponseVersion,
    Visit,
    VisitStatus,
    new_id,
)

AT = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


async def _downgrade(database: Database, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)


async def _intake_rows_at_0008(database: Database) -> dict[str, str]:
    """Two visits' intakes written with only the 0008 columns (a completed, an unfinished)."""
    visits = {"completed": new_id(), "in-progress": new_id()}
    async with database.session() as session:
        clinician = Clinician(email="ada@clinic.example", display_name="Ada", password_hash="-")
        session.add(clinician)
        await session.flush()
        for status, visit_id in visits.items():
            await session.execute(
                Visit.__table__.insert().values(  # type: ignore[attr-defined]
                    id=visit_id,
                    clinician_id=clinician.id,
                    scheduled_at=AT,
                    status=VisitStatus.scheduled.value,
                    patient_label="",
                    created_at=AT,
                    updated_at=AT,
                )
            )
            session.add(
                IntakeResponse(
                    visit_id=visit_id,
                    status=status,
                    source="form",
                    response={"resourceType": "QuestionnaireResponse", "status": status},
                    summary_lines=[{"linkId": "reason", "label": "Reason", "text": "knee"}],
                    flags=[{"id": "severity-9-or-10", "title": "Severity", "advice": "urgent"}],
                    revision=1,
                    created_at=AT,
                    updated_at=AT,
                    completed_at=AT if status == "completed" else None,
                )
            )
    return visits


@pytest.mark.asyncio
async def test_completed_intakes_become_version_one_and_downgrade_is_clean(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        await upgrade_database(database, "0008")
        visits = await _intake_rows_at_0008(database)
        await upgrade_database(database, "0010")
        async with database.session() as session:
            versions = (await session.scalars(select(IntakeResponseVersion))).all()
        assert [(v.visit_id, v.version, v.source, v.submitted_at) for v in versions] == [
            (visits["completed"], 1, "form", AT)
        ]
        assert versions[0].flags[0]["id"] == "severity-9-or-10"
        assert versions[0].summary_lines[0]["text"] == "knee"

        await _downgrade(database, "0008")
        async with database.engine.connect() as connection:
            tables, visit_columns = await connection.run_sync(
                lambda c: (
                    inspect(c).get_table_names(),
                    {column["name"] for column in inspect(c).get_columns("visits")},
                )
            )
        assert "intake_response_versions" not in tables
        assert "room_log_purged_at" not in visit_columns
    finally:
        await database.close()
