"""VoicePreferences: faster/slower/louder/softer in documented steps, clamped."""

from __future__ import annotations

import pytest

from telehealth.navigation import NotAVoiceSetting, VoicePreferences, apply_preference
from telehealth.navigation.preferences import (
    DEFAULT_RATE_WPM,
    MAX_VOLUME,
    MIN_VOLUME,
    RATE_STEP_WPM,
    VOLUME_STEP,
)
from voice.tts import MAX_RATE_WPM, MIN_RATE_WPM

AS, SPEAK = "This is as", "as I can speak."


def test_defaults_and_steps() -> None:
    prefs = VoicePreferences()
    assert (prefs.rate_wpm, prefs.volume) == (175, 1.0) == (DEFAULT_RATE_WPM, MAX_VOLUME)
    assert (RATE_STEP_WPM, VOLUME_STEP) == (25, 0.2)
    assert prefs.faster().rate_wpm == 200
    assert prefs.slower().slower().rate_wpm == 125
    assert prefs.softer().volume == 0.8
    assert prefs.softer().softer().louder().volume == 0.8
    assert prefs.faster() is not prefs and prefs.rate_wpm == 175  # immutable


def test_rate_is_clamped_to_what_espeak_speaks() -> None:
    prefs = VoicePreferences()
    for _ in range(20):
        prefs = prefs.faster()
    assert prefs.rate_wpm == MAX_RATE_WPM == 450
    for _ in range(20):
        prefs = prefs.slower()
    assert prefs.rate_wpm == MIN_RATE_WPM == 80
    assert VoicePreferences(rate_wpm=9000).rate_wpm == 450
    assert VoicePreferences(rate_wpm=10).rate_wpm == 80


def test_volume_is_clamped_and_never_silent() -> None:
    prefs = VoicePreferences()
    seen = []
    for _ in range(6):
        prefs = prefs.softer()
        seen.append(prefs.volume)
    assert seen == [0.8, 0.6, 0.4, 0.2, 0.2, 0.2]
    assert prefs.volume == MIN_VOLUME
    assert VoicePreferences(volume=0.0).volume == 0.2
    assert VoicePreferences(volume=3.0).volume == 1.0
    assert prefs.louder().louder().louder().louder().louder().volume == 1.0


@pytest.mark.parametrize(
    ("start", "action", "rate", "volume", "changed", "say"),
    [
        (VoicePreferences(), "faster", 200, 1.0, True, "Faster."),
        (VoicePreferences(), "slower", 150, 1.0, True, "Slower."),
        (VoicePreferences(), "softer", 175, 0.8, True, "Softer."),
        (VoicePreferences(), "louder", 175, 1.0, False, "This is as loud as I can speak."),
        (
            VoicePreferences(rate_wpm=450),
            "faster",
            450,
            1.0,
            False,
            "This is as fast as I can speak.",
        ),
        (
            VoicePreferences(rate_wpm=80),
            "slower",
            80,
            1.0,
            False,
            "This is as slow as I can speak.",
        ),
        (
            VoicePreferences(volume=0.2),
            "softer",
            175,
            0.2,
            False,
            "This is as soft as I can speak.",
        ),
        (VoicePreferences(volume=0.2), "louder", 175, 0.4, True, "Louder."),
    ],
)
def test_apply_a_voice_command(
    start: VoicePreferences,
    action: str,
    rate: int,
    volume: float,
    changed: bool,
    say: str,
) -> None:
    change = apply_preference(start, action)
    assert (change.preferences.rate_wpm, change.preferences.volume) == (rate, volume)
    assert (change.changed, change.say) == (changed, say)


def test_other_actions_do_not_change_the_voice() -> None:
    with pytest.raises(NotAVoiceSetting, match="'mute' does not change the voice"):
        apply_preference(VoicePreferences(), "mute")
