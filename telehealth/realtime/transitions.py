"""Room transitions the app persists: the visit's status follows what happens in its room.

The hub reports transitions from inside a room's event loop; writing to the database there
would hold up every message of the room behind a disk write. So transitions go into a
bounded queue and one writer task applies them, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from signaling.room_model import RoomTransition
from telehealth.audit import ActorType
from telehealth.storage import Database
from telehealth.storage.models import Visit, VisitStatus
from telehealth.visits.lifecycle import InvalidTransition
from telehealth.visits.service import set_status

log = logging.getLogger("telehealth.rooms")

QUEUE_BOUND = 10_000
DRAIN_TIMEOUT_S = 10.0


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


class VisitStatusRecorder:
    """The hub's `on_transition` callback: queues the change; a writer task stores it."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._queue: asyncio.Queue[tuple[str, RoomTransition] | None] = asyncio.Queue(QUEUE_BOUND)
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_all(), name="visit-status-writer")
        self._writer.add_done_callback(_log_unexpected_end)

    async def stop(self) -> None:
        """Store what is queued (bounded by a timeout), then stop."""
        if self._writer is None:
            return
        await self._queue.put(None)
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT_S):
                await self._writer
        except TimeoutError:
            log.error(
                "visit status writer did not drain in time", extra={"pending": self._queue.qsize()}
            )
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def __call__(self, visit_id: str, transition: RoomTransition) -> None:
        try:
            self._queue.put_nowait((visit_id, transition))
        except asyncio.QueueFull:
            log.error(
                "visit status queue full; transition dropped",
                extra={"visit_id": visit_id, "kind": transition.kind},
            )

    async def _write_all(self) -> None:
        while (item := await self._queue.get()) is not None:
            visit_id, transition = item
            try:
                await self._write(visit_id, transition)
            except Exception:
                # One failed write must not stop the writer; the next transition may succeed.
                log.exception(
                    "storing a room transition failed",
                    extra={"visit_id": visit_id, "kind": transition.kind},
                )

    async def _write(self, visit_id: str, transition: RoomTransition) -> None:
        async with self.database.session() as session:
            visit = await session.get(Visit, visit_id)
            if visit is None:
                return
            target = target_status(transition, visit.status)
            if target is None or target == visit.status:
                return
            actor: ActorType = "clinician" if transition.role == "clinician" else "patient"
            try:
                await set_status(session, visit, target, actor_type=actor, actor_id=None)
            except InvalidTransition as error:
                log.warning(
                    "room transition not applied",
                    extra={"visit_id": visit_id, "kind": transition.kind, "reason": str(error)},
                )


def _log_unexpected_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("visit status writer died", exc_info=task.exception())
