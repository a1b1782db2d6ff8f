"""What the intake needs while the app runs: the checked questionnaire, the red-flag rules,
and this process's cache of live dialogues. Opened once, at start-up, by `open_intake`."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telehealth.intake import (
    IntakeDialogue,
    IntakeQuestionnaire,
    RedFlag,
    RedFlagRules,
    load_questionnaire,
    load_red_flag_rules,
    wording,
)
from telehealth.intake.red_flags import RedFlagChecker
from telehealth.intake_service.errors import IntakeBusy
from telehealth.settings import Settings

log = logging.getLogger("telehealth.intake")

CACHED_DIALOGUES = 512
LOCK_STRIPES = 64
LOCK_TIMEOUT_S = 10.0


class DialogueCache:
    """Live dialogues of this process, each tagged with the row revision it matches.

    The database row is the truth: a cached dialogue is used only while its revision is
    the stored one, so a write by another process (or by the form) simply makes it stale.
    Changes to one visit's intake are serialised here by a lock; a fixed set of lock
    stripes keeps the number of locks bounded however many visits come and go.
    """

    def __init__(self, capacity: int = CACHED_DIALOGUES, stripes: int = LOCK_STRIPES) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[int, IntakeDialogue]] = OrderedDict()
        self._locks = [asyncio.Lock() for _ in range(stripes)]

    def get(self, visit_id: str, revision: int) -> IntakeDialogue | None:
        entry = self._entries.get(visit_id)
        if entry is None or entry[0] != revision:
            return None
        self._entries.move_to_end(visit_id)
        return entry[1]

    def put(self, visit_id: str, revision: int, dialogue: IntakeDialogue) -> None:
        self._entries[visit_id] = (revision, dialogue)
        self._entries.move_to_end(visit_id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def drop(self, visit_id: str) -> None:
        self._entries.pop(visit_id, None)

    def __len__(self) -> int:
        return len(self._entries)

    @asynccontextmanager
    async def locked(self, visit_id: str, timeout_s: float = LOCK_TIMEOUT_S) -> AsyncIterator[None]:
        """Hold the visit's lock (shared with the visits of the same stripe)."""
        digest = hashlib.blake2b(visit_id.encode(), digest_size=4).digest()
        lock = self._locks[int.from_bytes(digest) % len(self._locks)]
        try:
            async with asyncio.timeout(timeout_s):
                await lock.acquire()
        except TimeoutError:
            raise IntakeBusy("the intake is busy; please try again") from None
        try:
            yield
        finally:
            lock.release()


@dataclass
class IntakeRuntime:
    """The intake configuration of a running app, and its per-process dialogue cache."""

    questionnaire: IntakeQuestionnaire
    red_flag_rules: RedFlagRules
    emergency_number: str | None = None
    dialogues: DialogueCache = field(default_factory=DialogueCache)

    def __post_init__(self) -> None:
        self.checker = RedFlagChecker(self.red_flag_rules, self.questionnaire)

    @property
    def questionnaire_json(self) -> Mapping[str, Any]:
        """The FHIR Questionnaire resource as loaded (what the form is built from)."""
        return self.questionnaire.resource

    def new_dialogue(self, now: datetime) -> IntakeDialogue:
        return IntakeDialogue(
            self.questionnaire,
            now,
            red_flag_rules=self.red_flag_rules,
            emergency_number=self.emergency_number,
        )

    def emergency_message(self, flags: Iterable[RedFlag]) -> str | None:
        """What the patient must read at once when `flags` are raised; None without flags."""
        advice = {flag.advice for flag in flags}
        parts = []
        if "crisis" in advice:
            parts.append(wording.crisis(self.emergency_number))
        if "emergency" in advice:
            parts.append(wording.emergency(self.emergency_number))
        return " ".join(parts) or None


async def open_intake(settings: Settings) -> IntakeRuntime:
    """Load and check the questionnaire (`InvalidQuestionnaire` if it cannot be used)."""
    questionnaire = await asyncio.to_thread(load_questionnaire, settings.intake_questionnaire)
    rules = await asyncio.to_thread(load_red_flag_rules)
    runtime = IntakeRuntime(questionnaire, rules, settings.emergency_number)
    unusable = runtime.checker.unusable_rules()
    if unusable:
        # A custom questionnaire may leave out what a rule looks at; say which rules are idle.
        log.warning("red-flag rules cannot fire with this questionnaire", extra={"rules": unusable})
    return runtime
