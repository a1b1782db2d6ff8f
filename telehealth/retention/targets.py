"""What a retention run purges from: the database, and the room event logs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telehealth.storage import Database


@dataclass(frozen=True, slots=True)
class RetentionTargets:
    """The stores of this process. `delete_room_log(visit_id)` drops a visit's room event
    log (`RoomHub.delete_visit_log`); None where the logs are out of reach (the in-process
    memory backend of another process)."""

    database: Database
    delete_room_log: Callable[[str], Awaitable[None]] | None = None
