"""What the intake and navigation assistants share: events handled in order by a task of
their own (so a slow reply never holds up the peer's event dispatch), a guard around each
event (so one failure never silences the assistant), and speech in the person's voice
preferences."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from telehealth.logs import describe_error, where
from telehealth.navigation import VoicePreferences
from voice.peer import AssistantPeer
from voice.peer_events import PeerClosed, PeerEvent, Recognized
from voice.recognition import Final, NotUnderstood

log = logging.getLogger("telehealth.assistant")

Item = TypeVar("Item")

# Said and shown when one event could not be handled: that it went wrong, and the way on
# that needs no voice. Behaviours name their own way on (the form, the keyboard).
TROUBLE = "Sorry, something went wrong on our side."


def heard_text(event: PeerEvent) -> str | None:
    """What a recognized utterance said: a Final's text, or what a NotUnderstood heard (off
    the phrase list, yet maybe meaningful); None for anything else or blank speech."""
    if not isinstance(event, Recognized):
        return None
    recognized = event.event
    if isinstance(recognized, Final):
        text = recognized.text
    elif isinstance(recognized, NotUnderstood):
        text = recognized.heard
    else:
        return None
    return text if text.strip() else None


class QueuedBehaviour(Generic[Item]):
    """An assistant peer's event consumer with a bounded queue and one guarded worker task.

    Subclasses pick the events they want (`accept`: the item to queue, or None), do any
    opening work (`opened`) and handle items one at a time (`handle`). An unexpected error
    in either is logged (its type and the ids, never what was said), the person is told
    (`tell_trouble`: spoken, and shown by the subclass in the page's status), and the worker
    goes on with the next item. The worker ends when the peer closes.
    """

    name = "assistant"
    # What the person can do when the assistant failed them (subclasses say it their way).
    way_on = "You can carry on with the keyboard."

    def __init__(
        self,
        *,
        bound: int,
        preferences: VoicePreferences | None = None,
        visit_id: str | None = None,
    ) -> None:
        self.preferences = preferences or VoicePreferences()
        self.visit_id = visit_id
        self.peer: AssistantPeer | None = None
        self.failures = 0
        self._items: asyncio.Queue[Item | None] = asyncio.Queue(bound)
        self._worker: asyncio.Task[None] | None = None

    def accept(self, event: PeerEvent) -> Item | None:
        raise NotImplementedError

    async def opened(self) -> None:
        """Run first, once the worker starts."""

    async def handle(self, item: Item) -> None:
        raise NotImplementedError

    def attach(self, peer: AssistantPeer) -> None:
        self.peer = peer
        self._worker = asyncio.create_task(self._run(), name=self.name)
        self._worker.add_done_callback(self._log_unexpected_end)

    async def __call__(self, event: PeerEvent) -> None:
        if isinstance(event, PeerClosed):
            try:
                self._items.put_nowait(None)
            except asyncio.QueueFull:  # no room for the end marker: end the worker now
                await self.stop()
            return
        item = self.accept(event)
        if item is None:
            return
        try:
            self._items.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("%s: events dropped, the assistant is behind", self.name)

    async def say(self, text: str, *, interrupt: bool = True) -> None:
        """Speak `text` in this person's voice preferences (nothing once the peer closed)."""
        peer = self.peer
        if peer is None or peer.closed or not text.strip():
            return
        await peer.say(
            text,
            rate_wpm=self.preferences.rate_wpm,
            volume=self.preferences.volume,
            interrupt=interrupt,
        )

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    def trouble_text(self) -> str:
        return f"{TROUBLE} {self.way_on}"

    def show_trouble(self, text: str) -> None:
        """Put `text` in the person's page (its status region); subclasses send the message
        their page already shows."""
        del text

    async def tell_trouble(self) -> None:
        """Tell the person, on the page and in speech, that their last event was not handled
        and what they can do; a failure to tell them is logged, never raised."""
        text = self.trouble_text()
        try:
            if self.peer is not None and not self.peer.closed:
                self.show_trouble(text)
            await self.say(text)
        except Exception as error:  # the peer itself is failing: nothing more to tell with
            log.warning(
                "%s could not tell the person of a failure",
                self.name,
                extra={"visit_id": self.visit_id, "failure": describe_error(error)},
            )

    async def _run(self) -> None:
        await self._guarded(self.opened)
        while (item := await self._items.get()) is not None:
            await self._guarded(functools.partial(self.handle, item))

    async def _guarded(self, step: Callable[[], Awaitable[None]]) -> None:
        try:
            await step()
        except Exception as error:
            # Logged by type and place only: an error's message may quote what was said.
            self.failures += 1
            log.error(
                "%s could not handle an event",
                self.name,
                extra={
                    "visit_id": self.visit_id,
                    "failure": describe_error(error),
                    "where": where(error.__traceback__)[-3:],
                },
            )
            await self.tell_trouble()

    def _log_unexpected_end(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s stopped on an error", self.name, exc_info=task.exception())
