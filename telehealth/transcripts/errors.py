"""The exceptions `telehealth.transcripts` raises; catch `TranscriptError` to catch them all."""

from __future__ import annotations


class TranscriptError(Exception):
    """Base of every error raised on purpose by the transcripts package."""


class TranscriptNotFound(TranscriptError, LookupError):
    """No such visit for this clinician (someone else's visit looks the same as none)."""


class SegmentNotFound(TranscriptError, LookupError):
    """No such segment in this visit's transcript."""


class InvalidCorrection(TranscriptError, ValueError):
    """A correction the clinician typed cannot be stored (empty or too long)."""


class InvalidSegment(TranscriptError, ValueError):
    """A recognized segment with impossible values (times that are not numbers)."""


class ExportFailed(TranscriptError):
    """An export could not be built (a bug here, not a user error)."""
