"""The symptom intake by voice: each question spoken, each reply recognized and answered.

Yes/no questions and confirmations are recognized against their phrase list; other
answers by dictation, parsed by the dialogue. Replies go through the same `IntakeSessions`
as typed ones, so both paths give the same QuestionnaireResponse. Each turn is also sent on
the data channel (`intake_turn`, `telehealth.assistant.channel_messages`), so the page can
show what is being asked.

A reply that fails unexpectedly (the database is down) is not stored; the patient hears and
reads (an `intake_turn` offering the keyboard) that they may say it again or use the form,
and the next reply is taken as usual.
"""

from __future__ import annotations

import dataclasses
import logging

from telehealth.assistant.behaviour import QueuedBehaviour, heard_text
from telehealth.assistant.channel_messages import IntakeTurnMessage
from telehealth.intake import Turn
from telehealth.intake_service.errors import IntakeServiceError
from telehealth.intake_service.sessions import IntakeSessions
from telehealth.navigation import VoicePreferences
from voice.peer_events import PeerEvent

log = logging.getLogger("telehealth.intake.voice")

QUEUE_BOUND = 16


class VoiceIntake(QueuedBehaviour[str]):
    """An assistant peer's behaviour in intake mode: the replies, one at a time."""

    name = "intake-voice"
    way_on = "Your last answer was not saved. Please say it again, or choose Type instead."

    def __init__(
        self,
        sessions: IntakeSessions,
        visit_id: str,
        *,
        preferences: VoicePreferences | None = None,
    ) -> None:
        super().__init__(bound=QUEUE_BOUND, preferences=preferences, visit_id=visit_id)
        self.sessions = sessions
        self.visit_id: str = visit_id
        self.last_turn: Turn | None = None

    def accept(self, event: PeerEvent) -> str | None:
        return heard_text(event)

    async def opened(self) -> None:
        # The first question is spoken once media flows.
        await self._present(await self.sessions.start(self.visit_id))

    async def handle(self, item: str) -> None:
        if self.last_turn is None:
            # The opening failed (and the patient was told): whatever they say now starts
            # the dialogue again, from its stored state.
            await self.opened()
            return
        if self.last_turn.done:
            return
        try:
            turn = await self.sessions.reply(self.visit_id, item)
        except IntakeServiceError as error:
            # Closed, busy or too long: tell the patient; the form remains.
            log.warning(
                "voice intake reply refused",
                extra={"visit_id": self.visit_id, "reason": type(error).__name__},
            )
            await self.say(str(error))
            return
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
        self._send_turn(turn)
        await self.say(turn.prompt)

    def show_trouble(self, text: str) -> None:
        # The page shows every turn's prompt in its role="status" line, and its "Type
        # instead" button when the turn offers the keyboard: the same question, still open.
        turn = self.last_turn or Turn(
            prompt=text,
            stage="question",
            link_id=None,
            expects="free_text",
            phrases=(),
            new_flags=(),
            flags=(),
            offer_keyboard=True,
            done=False,
        )
        self._send_turn(dataclasses.replace(turn, prompt=text, new_flags=(), offer_keyboard=True))

    def _send_turn(self, turn: Turn) -> None:
        peer = self.peer
        if peer is not None and not peer.closed:
            peer.send_message(IntakeTurnMessage.of(turn))
