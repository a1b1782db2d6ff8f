"""Room transitions the app persists: the visit's status follows what happens in its room.

The hub reports transitions from inside a room's event loop; writing to the database there
would hold up every message of the room behind a disk write. So transitions go into a
bounded queue and one writer task applies them, in order. Once the end of a call is
stored, the visit's room log has served its purpose and is deleted.

With several processes, each stores the transitions its own peers caused, so one visit's
are written by two writers that do not wait for each other: the patient's process stores
`waiting` while the clinician's stores `admitted` and `call_ended`, and the latter may come
first. So the visit row is locked while a transition is applied (no lost update between two
writers), an admission found on a visit still `scheduled` stores the `waiting` it implies
first, and a late `waiting` finds the visit past it and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import update

from signaling.room_model import RoomTransition
from telehealth.audit import ActorType
from telehealth.queued_writer import QueuedWriter
from telehealth.storage import Database
from telehealth.storage.models import Visit, VisitStatus
from telehealth.visits.lifecycle import InvalidTransition
from telehealth.visits.service import set_status

log = logging.getLogger("telehealth.rooms")


def target_status(transition: RoomTransition, current: VisitStatus) -> VisitStatus | None:
    """The visit status a room transition leads to, or None to leave it as it is."""
    if transition.role != "patient" and transition.kind != "call_ended":
        return None
    match transition.kind:
        case "waiting":
            return VisitStatus.waiting if current == VisitStatus.scheduled else None
        case "admitted":
            return VisitStatus.in_call
        case "call_ended":
            return VisitStatus.ended
        case "denied" | "left":
            # A patient who goes away before the call is scheduled again; one who drops out
            # of a call leaves it in_call so the clinician can end it or they can come back.
            return VisitStatus.scheduled if current == VisitStatus.waiting else None
    return None


class VisitStatusRecorder(QueuedWriter[tuple[str, RoomTransition]]):
    """The hub's `on_transition` callback: queues the change; a writer task stores it."""

    name = "visit-status-writer"

    def __init__(self, database: Database) -> None:
        super().__init__(log)
        self.database = database
        # The hub's delete_visit_log, set once the hub (which calls this recorder) exists.
        self.delete_room_log: Callable[[str], Awaitable[None]] | None = None

    async def __call__(self, visit_id: str, transition: RoomTransition) -> None:
        self.submit((visit_id, transition))

    def describe(self, item: tuple[str, RoomTransition]) -> dict[str, object]:
        return {"visit_id": item[0], "kind": item[1].kind}

    async def write(self, item: tuple[str, RoomTransition]) -> None:
        visit_id, transition = item
        await self._store(visit_id, transition)
        if transition.kind == "call_ended" and self.delete_room_log is not None:
            # After the store: a failed write leaves the log to its idle expiry.
            await self.delete_room_log(visit_id)

    async def _store(self, visit_id: str, transition: RoomTransition) -> None:
        async with self.database.session() as session:
            # The row's write lock before reading it (another process may be writing this
            # visit): a no-op UPDATE locks the row on PostgreSQL and makes the transaction
            # SQLite's one writer, where SELECT ... FOR UPDATE does not exist.
            await session.execute(
                update(Visit).where(Visit.id == visit_id).values(status=Visit.status)
            )
            visit = await session.get(Visit, visit_id)
            if visit is None:
                return
            target = target_status(transition, visit.status)
            if target is None or target == visit.status:
                return
            actor: ActorType = "clinician" if transition.role == "clinician" else "patient"
            try:
                if target == VisitStatus.in_call and visit.status == VisitStatus.scheduled:
                    # The patient's process has not stored their `waiting` yet.
                    await set_status(
                        session, visit, VisitStatus.waiting, actor_type="patient", actor_id=None
                    )
                await set_status(session, visit, target, actor_type=actor, actor_id=None)
            except InvalidTransition as error:
                log.warning(
                    "room transition not applied",
                    extra={"visit_id": visit_id, "kind": transition.kind, "reason": str(error)},
                )
