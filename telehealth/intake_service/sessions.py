"""The spoken (or typed) intake dialogue of each visit, kept in the database.

`IntakeSessions.start(visit_id)` and `.reply(visit_id, text)` return the dialogue's `Turn`.
After every reply the QuestionnaireResponse so far is stored (in-progress, then
completed), with the replies and their times: any process can rebuild the dialogue by
replaying them (the dialogue is pure and deterministic), so a reconnect or a second
server resumes where the patient was. This process keeps the live dialogue in a cache
and replays only when another process or the form wrote in between. A finished dialogue
becomes the intake's next version (`records.add_version`); `start(..., again=True)` begins
another one after a finished intake.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from signaling.hub import RoomHub
from telehealth import audit
from telehealth.intake import IntakeDialogue, RedFlag, Turn, wording
from telehealth.intake_service import records
from telehealth.intake_service.alerts import alert_clinicians, record_urgent
from telehealth.intake_service.errors import IntakeNotStarted, IntakeTooLong
from telehealth.intake_service.runtime import IntakeRuntime
from telehealth.storage import Database
from telehealth.storage.models import IntakeResponse, new_id, utcnow

# Far more than an intake needs (about 25 replies with confirmations), small enough to
# replay in a few hundred milliseconds.
MAX_REPLIES = 200
MAX_REPLY_CHARS = 2000

T = TypeVar("T")


class IntakeSessions:
    """Start and continue a visit's intake dialogue; stores every step, alerts on red flags."""

    def __init__(self, runtime: IntakeRuntime, database: Database, hub: RoomHub) -> None:
        self._runtime = runtime
        self._database = database
        self._hub = hub

    async def start(self, visit_id: str, *, again: bool = False) -> Turn:
        """The greeting and first question, or (on a reconnect) the last prompt again.

        A finished intake says so, unless `again`: then a new dialogue starts, and when it
        is finished it becomes the intake's next version (the clinician keeps seeing the
        previous one until then)."""
        async with self._runtime.dialogues.locked(visit_id):
            return await self._attempt(visit_id, lambda v: self._start_once(v, again=again))

    async def reply(self, visit_id: str, text: str) -> Turn:
        """Apply the patient's reply (recognised speech or typed text) and say what's next."""
        text = text[:MAX_REPLY_CHARS]  # the parsers refuse long answers; keep the log small
        async with self._runtime.dialogues.locked(visit_id):
            turn, new_flags = await self._attempt(visit_id, lambda v: self._reply_once(v, text))
        if new_flags:
            await alert_clinicians(self._hub, visit_id, new_flags)
        return turn

    async def _attempt(self, visit_id: str, once: Callable[[str], Awaitable[T]]) -> T:
        def drop() -> None:
            self._runtime.dialogues.drop(visit_id)

        try:
            return await records.retrying(lambda: once(visit_id), on_conflict=drop)
        except BaseException:
            drop()  # the cached dialogue may have moved on without being stored
            raise

    async def _start_once(self, visit_id: str, *, again: bool) -> Turn:
        now = utcnow()
        async with self._database.session() as session:
            await records.check_visit_takes_intake(session, visit_id)
            row = await records.load(session, visit_id)
            if row is not None and row.dialogue is None and row.status == "completed" and not again:
                return finished_turn(records.stored_flags(row))
            if row is not None and row.dialogue is not None:
                dialogue = await self._dialogue(visit_id, row)
                self._runtime.dialogues.put(visit_id, row.revision, dialogue)
                return _with_flags(dialogue.start(), records.stored_flags(row))
            dialogue = self._runtime.new_dialogue(now)
            turn = dialogue.start()
            log: dict[str, Any] = {"started_at": now.isoformat(), "replies": []}
            if row is None:
                row_id = new_id()
                await records.insert(
                    session,
                    IntakeResponse(
                        id=row_id,
                        visit_id=visit_id,
                        status="in-progress",
                        source="voice",
                        response=dialogue.questionnaire_response(response_id=row_id),
                        summary_lines=[],
                        urgent=False,
                        flags=[],
                        dialogue=log,
                        revision=0,
                        created_at=now,
                        updated_at=now,
                    ),
                )
                revision = 0
            elif row.status == "completed":  # again: the submitted version stays in view
                revision = await records.save(session, row, now, dialogue=log)
            else:  # flags recorded from an unfinished form: keep them, start the dialogue
                revision = await records.save(
                    session,
                    row,
                    now,
                    source="voice",
                    dialogue=log,
                    response=dialogue.questionnaire_response(response_id=row.id),
                )
        self._runtime.dialogues.put(visit_id, revision, dialogue)
        return _with_flags(turn, records.stored_flags(row))

    async def _reply_once(self, visit_id: str, text: str) -> tuple[Turn, tuple[RedFlag, ...]]:
        now = utcnow()
        async with self._database.session() as session:
            await records.check_visit_takes_intake(session, visit_id)
            row = await records.load(session, visit_id)
            if row is not None and row.dialogue is None and row.status == "completed":
                return finished_turn(records.stored_flags(row)), ()
            if row is None or row.dialogue is None:
                raise IntakeNotStarted("start the intake before replying")
            if len(row.dialogue["replies"]) >= MAX_REPLIES:
                raise IntakeTooLong("this conversation is too long; please use the form")
            dialogue = await self._dialogue(visit_id, row)
            turn = dialogue.reply(text, now)
            kept = records.stored_flags(row)
            flags = records.merge_flags(kept, turn.flags)
            new_flags = flags[len(kept) :]
            log = {
                **row.dialogue,
                "replies": [*row.dialogue["replies"], {"at": now.isoformat(), "text": text}],
            }
            response = dialogue.questionnaire_response(response_id=row.id)
            summary_lines = records.summary_line_dicts(dialogue.clinician_summary().to_dict())
            if turn.done:
                response = await records.add_version(
                    session,
                    visit_id,
                    source="voice",
                    response=response,
                    summary_lines=summary_lines,
                    raised=turn.flags,
                    now=now,
                )
            if turn.done or row.status != "completed":
                revision = await records.save(
                    session,
                    row,
                    now,
                    status="completed" if turn.done else "in-progress",
                    source="voice",
                    response=response,
                    summary_lines=summary_lines,
                    urgent=bool(flags),
                    flags=records.flag_dicts(flags),
                    # Once complete the response holds what matters; the raw replies go.
                    dialogue=None if turn.done else log,
                    completed_at=now if turn.done else None,
                )
            else:  # a dialogue started again: the last submitted version stays in view
                revision = await records.save(
                    session,
                    row,
                    now,
                    urgent=bool(flags),
                    flags=records.flag_dicts(flags),
                    dialogue=log,
                )
            if new_flags:
                record_urgent(session, visit_id, new_flags, "voice")
            if turn.done:
                audit.record(
                    session,
                    actor_type="patient",
                    actor_id=None,
                    action="intake.completed",
                    visit_id=visit_id,
                    detail={"source": "voice"},
                )
        if turn.done:
            self._runtime.dialogues.drop(visit_id)
        else:
            self._runtime.dialogues.put(visit_id, revision, dialogue)
        return _with_flags(turn, flags), new_flags

    async def _dialogue(self, visit_id: str, row: IntakeResponse) -> IntakeDialogue:
        cached = self._runtime.dialogues.get(visit_id, row.revision)
        if cached is not None:
            return cached
        assert row.dialogue is not None
        # Replaying is CPU work (milliseconds per reply): keep it off the event loop.
        return await asyncio.to_thread(replay_dialogue, self._runtime, row.dialogue)


def replay_dialogue(runtime: IntakeRuntime, log: dict[str, Any]) -> IntakeDialogue:
    """Rebuild a dialogue from its stored start time and replies."""
    dialogue = runtime.new_dialogue(datetime.fromisoformat(log["started_at"]))
    dialogue.start()
    for entry in log["replies"]:
        dialogue.reply(entry["text"], datetime.fromisoformat(entry["at"]))
    return dialogue


def finished_turn(flags: tuple[RedFlag, ...]) -> Turn:
    """What a finished intake says to any further start or reply."""
    return Turn(
        prompt=wording.ALREADY_DONE,
        stage="done",
        link_id=None,
        expects="nothing",
        phrases=(),
        new_flags=(),
        flags=flags,
        offer_keyboard=False,
        done=True,
    )


def _with_flags(turn: Turn, flags: tuple[RedFlag, ...]) -> Turn:
    """The turn reporting every flag of the intake, including ones the form recorded."""
    merged = records.merge_flags(flags, turn.flags)
    return turn if merged == turn.flags else dataclasses.replace(turn, flags=merged)
