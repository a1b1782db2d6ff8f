"""The symptom intake by voice: each question spoken, each reply recognized and answered.

Yes/no questions and confirmations are recognized against their phrase list; other
answers by dictation, parsed by the dialogue. Replies go through the same `IntakeSessions`
as typed ones, so both paths give the same QuestionnaireResponse. Each turn is also sent on
the data channel (`intake_turn`), so the page can show what is being asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telehealth.intake import Turn
from telehealth.intake_service.errors import IntakeServiceError
from telehealth.intake_service.sessions import IntakeSessions
from telehealth.navigation import VoicePreferences
from voice.peer import AssistantPeer
from voice.peer_events import PeerClosed, PeerEvent, Recognized
from voice.recognition import Final, NotUnderstood

log = logging.getLogger("telehealth.intake.voice")

QUEUE_BOUND = 16


class VoiceIntake:
    """An assistant peer's behaviour in intake mode. Events are handled one at a time by a
    task of its own, so a slow reply never holds up the peer's event dispatch."""

    def __init__(
        self,
        sessions: IntakeSessions,
        visit_id: str,
        *,
        preferences: VoicePreferences | None = None,
    ) -> None:
        self.sessions = sessions
        self.visit_id = visit_id
        self.preferences = preferences or VoicePreferences()
        self.peer: AssistantPeer | None = None
        self.last_turn: Turn | None = None
        self._replies: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_BOUND)
        self._worker: asyncio.Task[None] | None = None

    def attach(self, peer: AssistantPeer) -> None:
        """Start the dialogue on `peer` (its first question is spoken once media flows)."""
        self.peer = peer
        self._worker = asyncio.create_task(self._run(), name="intake-voice")
        self._worker.add_done_callback(_log_unexpected_end)

    async def __call__(self, event: PeerEvent) -> None:
        if isinstance(event, PeerClosed):
            try:
                self._replies.put_nowait(None)
            except asyncio.QueueFull:  # no room for the end marker: end the worker now
                await self.stop()
            return
        if not isinstance(event, Recognized):
            return
        recognized = event.event
        if isinstance(recognized, Final):
            text = recognized.text
        elif isinstance(recognized, NotUnderstood):
            # Off the phrase list, but the dialogue's parsers may still understand it.
            text = recognized.heard
        else:
            return
        if not text.strip():
            return
        try:
            self._replies.put_nowait(text)
        except asyncio.QueueFull:
            log.warning(
                "intake replies dropped: the dialogue is behind", extra={"visit_id": self.visit_id}
            )

    async def _run(self) -> None:
        await self._present(await self.sessions.start(self.visit_id))
        while (text := await self._replies.get()) is not None:
            if self.last_turn is not None and self.last_turn.done:
                continue
            try:
                turn = await self.sessions.reply(self.visit_id, text)
            except IntakeServiceError as error:
                # Closed, busy or too long: tell the patient; the form remains.
                log.warning(
                    "voice intake reply refused",
                    extra={"visit_id": self.visit_id, "reason": type(error).__name__},
                )
                if self.peer is not None and not self.peer.closed:
                    await self._say(str(error))
                continue
            await self._present(turn)

    async def _present(self, turn: Turn) -> None:
        peer = self.peer
        assert peer is not None
        self.last_turn = turn
        if peer.closed:
            return
        # Yes/no questions (and confirmations) listen for their phrases. Everything else is
        # dictation: answers like "fever and a cough" or "thirty four" combine words no
        # phrase list holds, and the dialogue's parsers understand free wording.
        phrases = list(turn.phrases) if turn.expects == "yes_no" and turn.phrases else None
        peer.set_phrases(phrases)
        peer.send_message({"type": "intake_turn", **turn.to_dict()})
        await self._say(turn.prompt)

    async def _say(self, text: str) -> None:
        assert self.peer is not None
        await self.peer.say(
            text, rate_wpm=self.preferences.rate_wpm, volume=self.preferences.volume
        )

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker


def _log_unexpected_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("voice intake stopped on an error", exc_info=task.exception())
