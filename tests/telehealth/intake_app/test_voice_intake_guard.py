"""The voice intake survives a failing database: the patient is told (spoken, and in the
page's status line with the keyboard offered), nothing they said is logged, and the next
reply goes on as usual once the database answers again.

The intake is the real one (`VoiceIntake` over `IntakeSessions` and the real database); the
peer is the navigator tests' recorder of what was said and sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest
from sqlalchemy import text

from telehealth.assistant.behaviour import TROUBLE
from telehealth.assistant.channel_messages import IntakeTurnMessage
from telehealth.assistant.intake_voice import VoiceIntake
from telehealth.intake_service import IntakeSessions
from telehealth.storage import Database
from tests.telehealth.test_voice_navigator import RecordingPeer
from voice.peer import AssistantPeer
from voice.peer_events import PeerClosed, Recognized
from voice.recognition import Final

from .conftest import Clinic

REASON = "I have a sore throat"  # what the patient says: PHI, never in a log line


@asynccontextmanager
async def failing_intake_storage(database: Database) -> AsyncIterator[None]:
    """Every read or write of intake answers fails until the block ends (the database
    "goes away" for that table, the way a lost disk or a dropped connection looks)."""
    if database.dialect == "sqlite":
        broken = ["ALTER TABLE intake_responses RENAME TO intake_responses_away"]
        repaired = ["ALTER TABLE intake_responses_away RENAME TO intake_responses"]
    else:
        broken = [
            "CREATE FUNCTION refuse_intake() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'intake storage refused by the test'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_intake BEFORE INSERT OR UPDATE ON intake_responses "
            "FOR EACH ROW EXECUTE FUNCTION refuse_intake()",
        ]
        repaired = [
            "DROP TRIGGER refuse_intake ON intake_responses",
            "DROP FUNCTION refuse_intake()",
        ]
    async with database.session() as session:
        for statement in broken:
            await session.execute(text(statement))
    try:
        yield
    finally:
        async with database.session() as session:
            for statement in repaired:
                await session.execute(text(statement))


async def until(condition: Callable[[], bool], within_s: float = 10.0) -> None:
    async with asyncio.timeout(within_s):
        while not condition():  # noqa: ASYNC110 (the intake works in its own task)
            await asyncio.sleep(0.02)


def turns(peer: RecordingPeer) -> list[dict[str, Any]]:
    return peer.of_type("intake_turn")


async def hear(intake: VoiceIntake, words: str) -> None:
    await intake(Recognized(Final(words, 0.0, 1.0), 1.0, 0.0))


@asynccontextmanager
async def voice_intake(clinic: Clinic, visit_id: str) -> AsyncIterator[VoiceIntake]:
    services = clinic.app.state.services
    intake = VoiceIntake(IntakeSessions(services.intake, services.database, services.hub), visit_id)
    try:
        yield intake
    finally:
        await intake(PeerClosed("closed"))
        await intake.stop()


def trouble_turn(intake: VoiceIntake, text: str) -> dict[str, Any]:
    """The intake_turn the page gets on a failure: the open question, the keyboard offered."""
    assert intake.last_turn is not None
    told = dataclasses.replace(intake.last_turn, prompt=text, new_flags=(), offer_keyboard=True)
    return IntakeTurnMessage.of(told).model_dump()


def logged_text(records: list[logging.LogRecord]) -> str:
    return "\n".join(f"{record.getMessage()} {vars(record)}" for record in records)


@pytest.mark.asyncio
async def test_a_reply_lost_to_the_database_is_told_and_the_next_reply_works(
    clinic: Clinic, caplog: pytest.LogCaptureFixture
) -> None:
    ada = await clinic.clinician()
    visit_id, _patient = await clinic.visit_with_patient(ada)
    database: Database = clinic.app.state.services.database
    peer = RecordingPeer()
    async with voice_intake(clinic, visit_id) as intake:
        intake.attach(cast(AssistantPeer, peer))
        await until(lambda: len(turns(peer)) == 1)
        first = turns(peer)[0]
        assert first["link_id"] == "reason" and first["stage"] == "question"

        with caplog.at_level(logging.INFO, logger="telehealth"):
            async with failing_intake_storage(database):
                await hear(intake, REASON)
                await until(lambda: len(turns(peer)) == 2)
        told = intake.trouble_text()
        assert told.startswith(TROUBLE) and "say it again" in told and "Type instead" in told
        # Shown where the page shows every prompt (its role="status" line), keyboard offered,
        assert turns(peer)[1] == trouble_turn(intake, told)
        assert turns(peer)[1]["offer_keyboard"] is True
        # ...and spoken.
        assert peer.texts()[-1] == told
        assert intake.failures == 1
        # Logged by type and visit; never what the patient said.
        failures = [r for r in caplog.records if "could not handle an event" in r.getMessage()]
        assert len(failures) == 1
        assert getattr(failures[0], "visit_id", None) == visit_id
        failure = str(getattr(failures[0], "failure", ""))
        assert "Error" in failure and "sqlalchemy" in failure
        assert REASON not in logged_text(caplog.records)
        assert "sore throat" not in logged_text(caplog.records)

        # The database is back: the same words go on with the dialogue.
        await hear(intake, REASON)
        await until(lambda: len(turns(peer)) == 3)
        confirm = turns(peer)[2]
        assert confirm["stage"] == "confirm" and confirm["link_id"] == "reason"
        assert "sore throat" in confirm["prompt"].lower()
        assert peer.texts()[-1] == confirm["prompt"]
        assert intake.failures == 1


@pytest.mark.asyncio
async def test_an_intake_that_could_not_start_starts_on_the_next_utterance(
    clinic: Clinic,
) -> None:
    ada = await clinic.clinician()
    visit_id, _patient = await clinic.visit_with_patient(ada)
    database: Database = clinic.app.state.services.database
    peer = RecordingPeer()
    async with voice_intake(clinic, visit_id) as intake:
        async with failing_intake_storage(database):
            intake.attach(cast(AssistantPeer, peer))
            await until(lambda: intake.failures == 1 and len(turns(peer)) == 1)
        told = intake.trouble_text()
        assert turns(peer)[0]["prompt"] == told
        assert turns(peer)[0]["offer_keyboard"] is True and turns(peer)[0]["done"] is False
        assert peer.texts() == [told]

        await hear(intake, "hello")  # whatever is said: the first question now
        await until(lambda: len(turns(peer)) == 2)
        assert turns(peer)[1]["link_id"] == "reason" and turns(peer)[1]["stage"] == "question"
        assert peer.texts()[-1] == turns(peer)[1]["prompt"]
