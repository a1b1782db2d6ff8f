"""A fixed pool of decode threads where finals go before partials.

Whisper decodes are CPU-bound and a few hundred milliseconds each; with several streams on
two cores, a final must not wait behind partials. `submit` (finals) always queues, ahead
of any partial; `try_submit` (partials) runs only if a worker is free right now, so under
load partials are skipped instead of piling up.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from voice.errors import VoiceError

logger = logging.getLogger(__name__)

T = TypeVar("T")

URGENT = 0
BACKGROUND = 1


class DecodePool:
    """`workers` threads taking jobs by priority. Bounded: at most `max_pending` queued."""

    def __init__(self, workers: int, *, name: str = "decode", max_pending: int = 256) -> None:
        if workers < 1:
            raise VoiceError("a decode pool needs at least one worker")
        self.workers = workers
        self.max_pending = max_pending
        self._queue: list[tuple[int, int, Callable[[], Any], concurrent.futures.Future[Any]]] = []
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._idle = 0
        self._closed = False
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{index}", daemon=True)
            for index in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Queue an urgent job (a final); it runs before every queued partial."""
        return self._put(job, URGENT)

    def try_submit(self, job: Callable[[], T]) -> concurrent.futures.Future[T] | None:
        """Queue a background job only if a worker would take it at once; else None."""
        with self._condition:
            if self._closed or self._queue or self._idle == 0:
                return None
            return self._put(job, BACKGROUND)

    def _put(self, job: Callable[[], T], priority: int) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._condition:
            if self._closed:
                raise VoiceError("decode pool is shut down")
            if len(self._queue) >= self.max_pending:
                raise VoiceError(f"already {self.max_pending} decodes waiting")
            heapq.heappush(self._queue, (priority, next(self._order), job, future))
            self._condition.notify()
        return future

    @property
    def pending(self) -> int:
        with self._condition:
            return len(self._queue)

    def _run(self) -> None:
        while True:
            with self._condition:
                self._idle += 1
                while not self._queue and not self._closed:
                    self._condition.wait()
                self._idle -= 1
                if not self._queue:
                    return  # closed and drained
                _, _, job, future = heapq.heappop(self._queue)
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while queued (a superseded speculative decode)
            try:
                future.set_result(job())
            except BaseException as error:  # handed to whoever awaits the future
                future.set_exception(error)

    def shutdown(self, *, wait: bool = True, timeout_s: float = 30.0) -> None:
        """Stop taking jobs; queued jobs still run. With `wait`, join the threads."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        if wait:
            for thread in self._threads:
                thread.join(timeout_s)
                if thread.is_alive():
                    logger.warning("decode thread %s still busy at shutdown", thread.name)
