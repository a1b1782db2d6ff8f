"""Chat is part of the visit record: each line a participant sends in the room is stored.

The process that received the line from its websocket stores it, so it is stored once
however many processes serve the visit. Writes go through a bounded queue and one writer
task, so the websocket pump never waits on the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime

from signaling.peers import PeerInfo
from telehealth.storage import Database
from telehealth.storage.models import utcnow
from telehealth.transcripts.store import store_chat_message

log = logging.getLogger("telehealth.chat")

QUEUE_BOUND = 10_000
DRAIN_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class ChatLine:
    visit_id: str
    sender: PeerInfo
    text: str


class ChatRecorder:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._queue: asyncio.Queue[tuple[ChatLine, datetime] | None] = asyncio.Queue(QUEUE_BOUND)
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_all(), name="chat-writer")
        self._writer.add_done_callback(_log_unexpected_end)

    def record(self, line: ChatLine) -> None:
        try:
            self._queue.put_nowait((line, utcnow()))
        except asyncio.QueueFull:
            log.error("chat queue full; a line was not stored", extra={"visit_id": line.visit_id})

    async def stop(self) -> None:
        if self._writer is None:
            return
        await self._queue.put(None)
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT_S):
                await self._writer
        except TimeoutError:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def _write_all(self) -> None:
        while (item := await self._queue.get()) is not None:
            line, sent_at = item
            try:
                await store_chat_message(
                    self.database,
                    line.visit_id,
                    sender_role=line.sender.role,
                    sender_name=line.sender.name,
                    text=line.text,
                    sent_at=sent_at,
                    sender_peer_id=line.sender.peer_id,
                )
            except Exception:
                log.exception("storing a chat line failed", extra={"visit_id": line.visit_id})


def _log_unexpected_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("chat writer died", exc_info=task.exception())
