"""The exceptions `voice` raises; callers catch `VoiceError` to catch them all."""

from __future__ import annotations


class VoiceError(Exception):
    """Base of every error raised by the voice package."""


class AudioFormatError(VoiceError):
    """Audio that cannot be converted (unknown rate, odd byte count, NaN samples...)."""


class ModelNotFound(VoiceError):
    """No model is installed for the requested engine or language."""


class EngineUnavailable(VoiceError):
    """The engine's library or model could not be loaded."""


class SynthesisError(VoiceError):
    """Text could not be turned into speech (engine hung, crashed, or produced nothing)."""
