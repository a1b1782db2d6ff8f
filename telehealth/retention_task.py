"""The daily retention run: every kind of `telehealth.retention.RETENTION_KINDS` past its
period is deleted (transcripts and chat, intake and its versions, patient sessions,
invites, room logs).

Runs once shortly after start-up and then every `interval_s`. A failed run (or kind) is
logged and retried at the next interval; the task never dies silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from telehealth.retention import KindOutcome, RetentionTargets, run_retention
from telehealth.settings import Settings
from telehealth.storage.models import utcnow

log = logging.getLogger("telehealth.retention")

FIRST_RUN_DELAY_S = 60.0
INTERVAL_S = 24 * 3600.0


class RetentionTask:
    def __init__(
        self,
        targets: RetentionTargets,
        settings: Settings,
        *,
        first_delay_s: float = FIRST_RUN_DELAY_S,
        interval_s: float = INTERVAL_S,
    ):
        self.targets = targets
        self.settings = settings
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

    async def run_once(self, now: datetime | None = None) -> list[KindOutcome]:
        outcomes = await run_retention(self.targets, self.settings, now or utcnow())
        removed = {outcome.name: outcome.count for outcome in outcomes if outcome.count}
        failed = [outcome.name for outcome in outcomes if outcome.failed]
        if removed or failed:
            # Counts by kind only: nothing of what was deleted.
            log.info("retention purge", extra={"removed": removed, "failed": failed})
        return outcomes

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
