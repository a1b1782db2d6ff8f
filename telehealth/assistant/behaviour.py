"""What the intake and navigation assistants share: events handled in order by a task of
their own (so a slow reply never holds up the peer's event dispatch), and speech in the
person's voice preferences."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Generic, TypeVar

from telehealth.navigation import VoicePreferences
from voice.peer import AssistantPeer
from voice.peer_events import PeerClosed, PeerEvent, Recognized
from voice.recognition import Final, NotUnderstood

log = logging.getLogger("telehealth.assistant")

Item = TypeVar("Item")


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
    """An assistant peer's event consumer with a bounded queue and one worker task.

    Subclasses pick the events they want (`accept`: the item to queue, or None), do any
    opening work (`opened`) and handle items one at a time (`handle`). The worker ends when
    the peer closes.
    """

    name = "assistant"

    def __init__(self, *, bound: int, preferences: VoicePreferences | None = None) -> None:
        self.preferences = preferences or VoicePreferences()
        self.peer: AssistantPeer | None = None
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

    async def _run(self) -> None:
        await self.opened()
        while (item := await self._items.get()) is not None:
            await self.handle(item)

    def _log_unexpected_end(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s stopped on an error", self.name, exc_info=task.exception())
