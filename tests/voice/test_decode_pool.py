"""DecodePool: finals before partials, partials skipped when busy, bounded queue."""

from __future__ import annotations

import threading

import pytest

from voice.decode_pool import DecodePool
from voice.errors import VoiceError


def test_urgent_jobs_run_before_queued_background_jobs() -> None:
    pool = DecodePool(1, name="test")
    gate = threading.Event()
    order: list[str] = []
    try:
        blocker = pool.submit(lambda: gate.wait(10))
        queued = [pool._put(lambda i=i: order.append(f"partial{i}"), 1) for i in range(2)]
        final = pool.submit(lambda: order.append("final"))
        gate.set()
        for future in [blocker, *queued, final]:
            future.result(timeout=10)
        assert order == ["final", "partial0", "partial1"]
    finally:
        pool.shutdown()


def test_background_jobs_are_skipped_when_no_worker_is_free() -> None:
    pool = DecodePool(1, name="test")
    gate = threading.Event()
    try:
        started = threading.Event()
        busy = pool.submit(lambda: (started.set(), gate.wait(10)))
        assert started.wait(10)
        assert pool.try_submit(lambda: 1) is None
        gate.set()
        busy.result(timeout=10)
        free = None
        for _ in range(100):  # the worker goes back to waiting right after the job
            free = pool.try_submit(lambda: 2)
            if free is not None:
                break
            threading.Event().wait(0.01)
        assert free is not None and free.result(timeout=10) == 2
    finally:
        pool.shutdown()


def test_errors_reach_the_caller_and_cancelled_jobs_never_run() -> None:
    pool = DecodePool(1, name="test", max_pending=2)
    gate, started = threading.Event(), threading.Event()
    ran: list[int] = []
    try:
        blocker = pool.submit(lambda: (started.set(), gate.wait(10)))
        assert started.wait(10)
        cancelled = pool.submit(lambda: ran.append(1))
        assert cancelled.cancel()
        failing = pool.submit(lambda: 1 / 0)
        with pytest.raises(VoiceError, match="already 2 decodes waiting"):
            pool.submit(lambda: None)
        gate.set()
        blocker.result(timeout=10)
        with pytest.raises(ZeroDivisionError):
            failing.result(timeout=10)
        assert ran == []
    finally:
        pool.shutdown()
    with pytest.raises(VoiceError, match="shut down"):
        pool.submit(lambda: None)
