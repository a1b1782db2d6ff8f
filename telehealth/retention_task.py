"""The daily retention run: transcripts and chat past `retention_days` are deleted.

Runs once shortly after start-up and then every `interval_s`. A failed run is logged and
retried at the next interval; the task never dies silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telehealth.storage import Database
from telehealth.storage.models import utcnow
from telehealth.transcripts.retention import purge_expired

log = logging.getLogger("telehealth.retention")

FIRST_RUN_DELAY_S = 60.0
INTERVAL_S = 24 * 3600.0


class RetentionTask:
    def __init__(
        self,
        database: Database,
        retention_days: int,
        *,
        first_delay_s: float = FIRST_RUN_DELAY_S,
        interval_s: float = INTERVAL_S,
    ):
        self.database = database
        self.retention_days = retention_days
        self.first_delay_s = first_delay_s
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="retention")
        self._task.add_done_callback(_log_unexpected_end)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def run_once(self) -> None:
        result = await purge_expired(self.database, self.retention_days, utcnow())
        if result.visits:
            log.info(
                "retention purge",
                extra={
                    "visits": result.visits,
                    "segments": result.segments,
                    "chat_messages": result.chat_messages,
                },
            )

    async def _run(self) -> None:
        await asyncio.sleep(self.first_delay_s)
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("retention purge failed; retrying at the next interval")
            await asyncio.sleep(self.interval_s)


def _log_unexpected_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("retention task died", exc_info=task.exception())
