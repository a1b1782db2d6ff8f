"""The intake table as migrated, and opening the intake at start-up."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, delete, inspect
from sqlalchemy.exc import IntegrityError

from telehealth.clinicians import create_clinician
from telehealth.intake import InvalidQuestionnaire
from telehealth.intake.questionnaire import load_questionnaire
from telehealth.intake_service import DialogueCache, IntakeBusy, open_intake
from telehealth.storage import Database, upgrade_database
from telehealth.storage.models import Base, IntakeResponse, Visit
from telehealth.visits.service import create_visit
from tests.conftest import make_settings

from .conftest import PASSWORD


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await upgrade_database(db)
    yield db
    await db.close()


def _intake_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if "intake_responses" in repr(d)]


@pytest.mark.asyncio
async def test_migration_matches_the_model_and_keys_one_intake_per_visit(
    database: Database,
) -> None:
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_intake_differences) == []
        columns = await connection.run_sync(
            lambda c: {col["name"] for col in inspect(c).get_columns("intake_responses")}
        )
    assert {"visit_id", "status", "response", "urgent", "flags", "source"} <= columns
    assert {"updated_at", "completed_at", "dialogue", "revision"} <= columns

    async with database.session() as session:
        clinician = await create_clinician(
            session, email="c@clinic.example", display_name="C", password=PASSWORD
        )
        visit, _ = await create_visit(
            session,
            clinician_id=clinician.id,
            scheduled_at=datetime.now(UTC),
            invite_ttl=timedelta(hours=1),
        )
        session.add(_row(visit.id, "first"))
    with pytest.raises(IntegrityError):  # one intake per visit
        async with database.session() as session:
            session.add(_row(visit.id, "second"))
    # Deleting the visit deletes its intake.
    async with database.session() as session:
        await session.execute(delete(Visit).where(Visit.id == visit.id))
    async with database.session() as session:
        assert (await session.get(IntakeResponse, "first")) is None


def _row(visit_id: str, row_id: str) -> IntakeResponse:
    now = datetime.now(UTC)
    return IntakeResponse(
        id=row_id,
        visit_id=visit_id,
        status="completed",
        source="form",
        response={"resourceType": "QuestionnaireResponse", "status": "completed"},
        summary_lines=[],
        urgent=False,
        flags=[],
        revision=0,
        created_at=now,
        updated_at=now,
    )


@pytest.mark.asyncio
async def test_open_intake_checks_the_questionnaire(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = await open_intake(make_settings(tmp_path, emergency_number="911"))
    assert runtime.questionnaire_json["resourceType"] == "Questionnaire"
    assert "call 911 now" in (
        runtime.emergency_message(runtime.checker.evaluate({}, {"self-harm"})) or ""
    )
    assert runtime.emergency_message(()) is None

    broken = tmp_path / "broken.json"
    broken.write_text('{"resourceType": "Questionnaire", "status": "retired"}')
    with pytest.raises(InvalidQuestionnaire, match="retired"):
        await open_intake(make_settings(tmp_path, intake_questionnaire=broken))
    with pytest.raises(InvalidQuestionnaire, match="cannot read"):
        await open_intake(make_settings(tmp_path, intake_questionnaire=tmp_path / "missing.json"))

    # A questionnaire without the severity question: that rule can never fire, and we say so.
    resource = json.loads(json.dumps(load_questionnaire().resource))
    resource["item"][0]["item"] = [
        item for item in resource["item"][0]["item"] if item["linkId"] != "severity"
    ]
    custom = tmp_path / "custom.json"
    custom.write_text(json.dumps(resource))
    with caplog.at_level(logging.WARNING, logger="telehealth.intake"):
        runtime = await open_intake(make_settings(tmp_path, intake_questionnaire=custom))
    assert "severity" not in {item.link_id for item in runtime.questionnaire.questions()}
    [warning] = [r for r in caplog.records if r.name == "telehealth.intake"]
    assert warning.rules == ("severity-9-or-10",)  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_dialogue_cache_is_bounded_and_revision_checked(tmp_path: Path) -> None:
    runtime = await open_intake(make_settings(tmp_path))
    cache = DialogueCache(capacity=2, stripes=1)
    now = datetime.now(UTC)
    for visit in ("a", "b", "c"):
        cache.put(visit, 1, runtime.new_dialogue(now))
    assert len(cache) == 2 and cache.get("a", 1) is None
    assert cache.get("b", 1) is not None and cache.get("b", 2) is None
    async with cache.locked("b"):
        with pytest.raises(IntakeBusy):
            async with cache.locked("c", timeout_s=0.05):
                pass
