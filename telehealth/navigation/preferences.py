"""How fast and how loud the assistant speaks to one person: "faster", "slower", "louder",
"softer". Immutable; the app keeps one per session and passes `rate_wpm` and `volume` to
`SpeechSynthesizer.synthesize`.

Steps: 25 words per minute (about one seventh of the 175 wpm default, a change people
notice without overshooting), clamped to espeak-ng's 80-450 wpm; volume in steps of 0.2
(five steps from softest to full), clamped to 0.2-1.0 so the assistant never goes silent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from telehealth.navigation.errors import NotAVoiceSetting
from voice.tts import MAX_RATE_WPM, MIN_RATE_WPM

RATE_STEP_WPM = 25
DEFAULT_RATE_WPM = 175
MIN_VOLUME = 0.2
MAX_VOLUME = 1.0
VOLUME_STEP = 0.2
DEFAULT_VOLUME = 1.0

PREFERENCE_ACTIONS = frozenset({"faster", "slower", "louder", "softer"})


def clamp_rate(rate_wpm: int) -> int:
    """A speaking rate within espeak-ng's 80-450 words per minute."""
    return max(MIN_RATE_WPM, min(MAX_RATE_WPM, int(rate_wpm)))


def clamp_volume(volume: float) -> float:
    """A volume within 0.2-1.0, rounded to one decimal so steps add up exactly."""
    return round(max(MIN_VOLUME, min(MAX_VOLUME, float(volume))), 1)


@dataclass(frozen=True, slots=True)
class VoicePreferences:
    """Speaking rate (words per minute) and volume (0.2-1.0) for one session."""

    rate_wpm: int = DEFAULT_RATE_WPM
    volume: float = DEFAULT_VOLUME

    def __post_init__(self) -> None:
        # Whatever was stored or configured, the values handed to TTS are always valid.
        object.__setattr__(self, "rate_wpm", clamp_rate(self.rate_wpm))
        object.__setattr__(self, "volume", clamp_volume(self.volume))

    def faster(self) -> VoicePreferences:
        return replace(self, rate_wpm=clamp_rate(self.rate_wpm + RATE_STEP_WPM))

    def slower(self) -> VoicePreferences:
        return replace(self, rate_wpm=clamp_rate(self.rate_wpm - RATE_STEP_WPM))

    def louder(self) -> VoicePreferences:
        return replace(self, volume=clamp_volume(self.volume + VOLUME_STEP))

    def softer(self) -> VoicePreferences:
        return replace(self, volume=clamp_volume(self.volume - VOLUME_STEP))


@dataclass(frozen=True, slots=True)
class PreferenceChange:
    """The preferences after a command, and what to say about it (in the new voice)."""

    preferences: VoicePreferences
    changed: bool
    say: str


_AT_LIMIT = {
    "faster": "This is as fast as I can speak.",
    "slower": "This is as slow as I can speak.",
    "louder": "This is as loud as I can speak.",
    "softer": "This is as soft as I can speak.",
}
_DONE = {
    "faster": "Faster.",
    "slower": "Slower.",
    "louder": "Louder.",
    "softer": "Softer.",
}


def apply_preference(preferences: VoicePreferences, action_id: str) -> PreferenceChange:
    """Apply "faster", "slower", "louder" or "softer"; `NotAVoiceSetting` for other actions."""
    steps = {
        "faster": preferences.faster,
        "slower": preferences.slower,
        "louder": preferences.louder,
        "softer": preferences.softer,
    }
    step = steps.get(action_id)
    if step is None:
        raise NotAVoiceSetting(f"{action_id!r} does not change the voice")
    updated = step()
    changed = updated != preferences
    return PreferenceChange(updated, changed, _DONE[action_id] if changed else _AT_LIMIT[action_id])
