"""argon2 checks off the event loop, a few at a time.

An argon2 verification holds a core for tens of milliseconds by design. On the event loop,
a burst of sign-ins would stall every request and websocket of the process; here each runs
in a worker thread (argon2-cffi releases the GIL), at most `concurrency` at once, and a
sign-in that cannot get a worker within `wait_s` (30 s) is told the server is busy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from telehealth.security import spend_password_check, verify_password

# Sign-ins queued beyond this are refused at once rather than held (memory, sockets).
MAX_WAITING = 64


class PasswordChecksBusy(Exception):
    """No worker was free in time; the caller should try again shortly."""


class PasswordChecks:
    def __init__(self, concurrency: int, *, wait_s: float = 30.0) -> None:
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="argon2")
        self._slots = asyncio.Semaphore(concurrency)
        self._wait_s = wait_s
        self._waiting = 0

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether `password` matches `password_hash`."""
        return await self._run(verify_password, password_hash, password)

    async def spend(self, password: str) -> None:
        """Cost as much as a real check (for unknown accounts), so timing tells nothing."""
        await self._run(_spend, "", password)

    async def _run(
        self, check: Callable[[str, str], bool], password_hash: str, password: str
    ) -> bool:
        if self._waiting >= MAX_WAITING:
            raise PasswordChecksBusy("too many sign-ins at once")
        self._waiting += 1
        try:
            async with asyncio.timeout(self._wait_s):
                await self._slots.acquire()
        except TimeoutError:
            raise PasswordChecksBusy("no password check was free in time") from None
        finally:
            self._waiting -= 1
        try:
            loop = asyncio.get_running_loop()
            # The executor has `concurrency` threads too: a cancelled caller frees its slot,
            # but its check still queues behind the running ones, never beside them.
            return await loop.run_in_executor(self._executor, check, password_hash, password)
        finally:
            self._slots.release()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def _spend(_hash: str, password: str) -> bool:
    spend_password_check(password)
    return False
