"""A bounded queue drained by one writer task: database writes kept off hot paths.

Items are written in order; a failed write is logged and the next one goes on; `stop`
drains what is queued (bounded by a timeout). Subclasses say how one item is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

QUEUE_BOUND = 10_000
DRAIN_TIMEOUT_S = 10.0


class QueuedWriter(Generic[T]):
    name = "writer"

    def __init__(self, log: logging.Logger, *, bound: int = QUEUE_BOUND) -> None:
        self.log = log
        self._queue: asyncio.Queue[T | None] = asyncio.Queue(bound)
        self._task: asyncio.Task[None] | None = None
        # Told of every item dropped from a full queue (the metrics count them).
        self.on_drop: Callable[[], None] | None = None

    async def write(self, item: T) -> None:
        raise NotImplementedError

    def describe(self, item: T) -> dict[str, object]:
        """Identifiers of `item` for log lines (never PHI)."""
        del item
        return {}

    def start(self) -> None:
        self._task = asyncio.create_task(self._write_all(), name=self.name)
        self._task.add_done_callback(self._log_unexpected_end)

    def submit(self, item: T) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.log.error(
                f"{self.name} queue full; an item was dropped", extra=self.describe(item)
            )
            if self.on_drop is not None:
                self.on_drop()

    async def stop(self) -> None:
        if self._task is None:
            return
        try:
            # Within the timeout too: a full queue behind a hung write has no room for the end.
            async with asyncio.timeout(DRAIN_TIMEOUT_S):
                await self._queue.put(None)
                await self._task
        except TimeoutError:
            self.log.error(
                f"{self.name} did not drain in time", extra={"pending": self._queue.qsize()}
            )
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _write_all(self) -> None:
        while (item := await self._queue.get()) is not None:
            try:
                await self.write(item)
            except Exception:
                # One failed write must not stop the writer; the next may succeed.
                self.log.exception(
                    f"{self.name} failed to store an item", extra=self.describe(item)
                )

    def _log_unexpected_end(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.log.error(f"{self.name} died", exc_info=task.exception())
