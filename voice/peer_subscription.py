"""Which peer events the page asked for, and the pace of partials.

Recognition and speech events go to the speaker's page only after it sent `subscribe`:
most pages read none of them, and a stream of partials nobody reads is wasted work on both
sides. Partials are throttled to one per `interval_s` (the next partial, or the final,
carries what was skipped); every other event is sent as it comes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from voice.peer_messages import PARTIAL_INTERVAL_S, EventType


class EventSubscription:
    """The event types one page subscribed to, with partials throttled."""

    def __init__(
        self,
        events: Iterable[EventType] = (),
        *,
        interval_s: float = PARTIAL_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._events: frozenset[EventType] = frozenset(events)
        self._interval_s = interval_s
        self._clock = clock
        self._last_partial: float | None = None
        self.partials_skipped = 0

    @property
    def events(self) -> frozenset[EventType]:
        return self._events

    def replace(self, events: Iterable[EventType]) -> None:
        """Send these events (only these) from now on."""
        self._events = frozenset(events)

    def wants(self, event_type: str) -> bool:
        """Whether to send an event of `event_type` now (a partial counts against the pace)."""
        if event_type not in self._events:
            return False
        if event_type != "partial":
            if event_type == "final":
                self._last_partial = None  # the next utterance's first partial goes at once
            return True
        now = self._clock()
        if self._last_partial is not None and now - self._last_partial < self._interval_s:
            self.partials_skipped += 1
            return False
        self._last_partial = now
        return True
