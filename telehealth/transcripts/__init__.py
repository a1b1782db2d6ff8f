"""Visit transcripts: consent, storage of final captions and chat, review, search, exports.

The live-caption wiring calls `store_final_segment` and `store_chat_message`; the HTTP API
(telehealth/api/transcripts.py, telehealth/api/consent.py) calls the rest. Every error this
package raises on purpose is a `TranscriptError`.
"""

from __future__ import annotations

from telehealth.transcripts.errors import (
    InvalidCorrection,
    InvalidSegment,
    SegmentNotFound,
    TranscriptError,
    TranscriptNotFound,
)
from telehealth.transcripts.retention import PurgeResult, purge_expired
from telehealth.transcripts.store import store_chat_message, store_final_segment

__all__ = [
    "InvalidCorrection",
    "InvalidSegment",
    "PurgeResult",
    "SegmentNotFound",
    "TranscriptError",
    "TranscriptNotFound",
    "purge_expired",
    "store_chat_message",
    "store_final_segment",
]
