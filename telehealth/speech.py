"""Speech engines as the app sees them: which are installed, which one is active."""

from __future__ import annotations

from typing import Any

from telehealth.settings import Settings


def describe_models(settings: Settings) -> dict[str, Any]:
    return {
        "setting": settings.speech_engine,
        "language": settings.speech_language,
        "active": None,
        "problem": "speech is off",
        "installed": [],
    }
