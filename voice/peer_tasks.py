"""Background tasks of the assistant peer: named, tracked, and never dying silently."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger("voice.peer")

TASK_PREFIX = "assistant-peer"


def spawn(
    coroutine: Coroutine[Any, Any, None],
    name: str,
    *,
    on_failure: Callable[[BaseException], None] | None = None,
) -> asyncio.Task[None]:
    """Start `coroutine` as a task named `name` whose exception is logged (and passed to
    `on_failure`) when it ends with one; cancellation is a normal end."""
    task = asyncio.get_running_loop().create_task(coroutine, name=name)

    def done(finished: asyncio.Task[None]) -> None:
        if finished.cancelled():
            return
        error = finished.exception()
        if error is None:
            return
        # Only the exception type and task name: engine messages could quote what was said.
        logger.error(
            "background task %s failed: %s",
            finished.get_name(),
            type(error).__name__,
            exc_info=error,
        )
        if on_failure is not None:
            on_failure(error)

    task.add_done_callback(done)
    return task


async def cancel_and_wait(task: asyncio.Task[None] | None, timeout_s: float = 5.0) -> None:
    """Cancel `task` and wait (bounded) for it to finish; its own exception was logged."""
    if task is None or task.done():
        return
    task.cancel()
    # asyncio.wait neither raises the task's exception nor swallows our own cancellation.
    await asyncio.wait({task}, timeout=timeout_s)
    if not task.done():
        logger.warning("background task %s did not stop within %.0f s", task.get_name(), timeout_s)
