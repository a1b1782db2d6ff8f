"""Telling every server process that a staff account (or a visit's patient) lost its
access, at once.

An admin's change (disable, sign out everywhere, second factor reset) is written to the
database first, then announced on one pub/sub channel (memory:// in one process, Redis
across several). Each process follows the channel; every announcement wakes all of its
open websockets to check their session again, and those whose session no longer holds
close with 4401. A lost announcement (Redis briefly down) is caught by the websockets'
own periodic check, only later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from signaling.pubsub import EventLog

log = logging.getLogger("telehealth.revocations")
CHANNEL = "staff:revocations"
# After a broken subscription, wait this long before following the channel again.
RESUBSCRIBE_DELAY_S = 1.0


class Revocations:
    def __init__(self, events: EventLog) -> None:
        self._events = events
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Set once this process follows the channel (tests wait for it before announcing).
        self.listening = asyncio.Event()

    async def announce(self, clinician_id: str) -> None:
        """Say that `clinician_id`'s sessions may have ended (after the change is committed)."""
        await self._announce({"clinician_id": clinician_id})

    async def announce_visit(self, visit_id: str) -> None:
        """Say that patient sessions of `visit_id` may have ended (after the commit)."""
        await self._announce({"visit_id": visit_id})

    async def _announce(self, subject: dict[str, str]) -> None:
        try:
            payload = json.dumps(subject).encode()
            await self._events.append(CHANNEL, payload)
        except Exception:  # the periodic check still closes the calls, only later
            log.warning("could not announce a revocation", exc_info=True)
            self._wake()

    async def wait(self) -> None:
        """Return at the next announcement, from any process."""
        changed = self._changed
        await changed.wait()

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow(), name="staff-revocations")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _wake(self) -> None:
        # A fresh event for the next round: those woken now re-check and wait again.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _follow(self) -> None:
        while True:
            try:
                async with self._events.subscribe(CHANNEL, from_start=False) as entries:
                    self.listening.set()
                    async for _ in entries:
                        self._wake()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("revocation channel broke; following it again", exc_info=True)
            self.listening.clear()
            await asyncio.sleep(RESUBSCRIBE_DELAY_S)
