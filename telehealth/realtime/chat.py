"""Chat is part of the visit record: each line a participant sends in the room is stored.

The process that received the line from its websocket stores it, so it is stored once
however many processes serve the visit. Writes go through a bounded queue and one writer
task, so the websocket pump never waits on the disk (`QueuedWriter`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from signaling.peers import PeerInfo
from telehealth.queued_writer import QueuedWriter
from telehealth.storage import Database
from telehealth.storage.models import utcnow
from telehealth.transcripts.store import store_chat_message

log = logging.getLogger("telehealth.chat")


@dataclass(frozen=True, slots=True)
class ChatLine:
    visit_id: str
    sender: PeerInfo
    text: str


class ChatRecorder(QueuedWriter[tuple[ChatLine, datetime]]):
    name = "chat-writer"

    def __init__(self, database: Database) -> None:
        super().__init__(log)
        self.database = database

    def record(self, line: ChatLine) -> None:
        self.submit((line, utcnow()))

    def describe(self, item: tuple[ChatLine, datetime]) -> dict[str, object]:
        return {"visit_id": item[0].visit_id}

    async def write(self, item: tuple[ChatLine, datetime]) -> None:
        line, sent_at = item
        await store_chat_message(
            self.database,
            line.visit_id,
            sender_role=line.sender.role,
            sender_name=line.sender.name,
            text=line.text,
            sent_at=sent_at,
            sender_peer_id=line.sender.peer_id,
        )
