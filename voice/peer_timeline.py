"""Map a recognizer's clock to the participant's audio clock.

A recognizer counts only the audio it was fed, from when it was created; the participant's
clock counts all audio received, including audio dropped under load and audio fed to an
earlier recognizer (the peer makes a new one when the phrase list changes). Events are
reported on the participant's clock so captions and transcripts line up with the call.
"""

from __future__ import annotations

import bisect
import dataclasses

from voice.recognition import Final, NotUnderstood, RecognitionEvent

# A jump smaller than this is resampler rounding, not skipped audio.
_GAP_TOLERANCE_S = 1e-3


class AudioTimeline:
    """Where each second of one recognizer's stream lies on the participant's audio clock."""

    MAX_MARKS = 1024  # bounded: very old events map with a slightly stale shift

    def __init__(self) -> None:
        self._origin: float | None = None
        self._fed_s = 0.0
        self._mark_at: list[float] = [0.0]  # recognizer seconds where a shift starts
        self._shift: list[float] = [0.0]  # participant seconds skipped before that point

    def restart(self) -> None:
        """A new recognizer starts at the next chunk fed."""
        self._origin = None
        self._fed_s = 0.0
        self._mark_at = [0.0]
        self._shift = [0.0]

    @property
    def audio_s(self) -> float:
        """The participant-clock time just after the last chunk fed."""
        if self._origin is None:
            return 0.0
        return self._origin + self._fed_s + self._shift[-1]

    def fed(self, start_s: float, duration_s: float) -> None:
        """A chunk that starts at `start_s` on the participant's clock goes to the recognizer."""
        if self._origin is None:
            self._origin = start_s
        gap = start_s - self.audio_s
        if gap > _GAP_TOLERANCE_S:
            self._mark_at.append(self._fed_s)
            self._shift.append(self._shift[-1] + gap)
            if len(self._mark_at) > self.MAX_MARKS:
                del self._mark_at[0], self._shift[0]
        self._fed_s += duration_s

    def to_audio(self, stream_s: float) -> float:
        """A recognizer time (seconds of its stream) on the participant's clock."""
        origin = self._origin or 0.0
        # A time exactly at a gap belongs to the audio after it (words start there).
        index = max(0, bisect.bisect_right(self._mark_at, stream_s) - 1)
        return round(origin + stream_s + self._shift[index], 3)

    def retime(self, event: RecognitionEvent) -> RecognitionEvent:
        """`event` with its times on the participant's clock (a Partial has none)."""
        if isinstance(event, Final):
            words = tuple(
                dataclasses.replace(
                    word, start_s=self.to_audio(word.start_s), end_s=self.to_audio(word.end_s)
                )
                for word in event.words
            )
            return dataclasses.replace(
                event,
                start_s=self.to_audio(event.start_s),
                end_s=self.to_audio(event.end_s),
                words=words,
            )
        if isinstance(event, NotUnderstood):
            return dataclasses.replace(
                event, start_s=self.to_audio(event.start_s), end_s=self.to_audio(event.end_s)
            )
        return event
