"""Storing what happens in a call: final caption segments (with consent) and chat lines.

Both functions open their own transaction and commit before they return, so a crash right
after a caption was shown loses nothing that was stored. They are called from the live
path, so input they cannot use is skipped (None), not raised, except times that are not
numbers, which mean a bug upstream.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from signaling.server_messages import MAX_CAPTION_CHARS
from telehealth.storage import Database
from telehealth.storage.models import ChatMessage, TranscriptSegment, Visit, utcnow
from telehealth.transcripts.consent import has_transcript_consent
from telehealth.transcripts.errors import InvalidSegment
from telehealth.transcripts.schemas import ChatMessageOut, SegmentOut
from telehealth.transcripts.views import chat_out, segment_out
from voice.recognition import Word

log = logging.getLogger("telehealth.transcripts")

# A stored segment is a final caption: the same limit, so live and stored text are the same.
MAX_SEGMENT_CHARS = MAX_CAPTION_CHARS
MAX_CHAT_CHARS = 4_000
MAX_WORDS = 2_000
MAX_NAME_CHARS = 200
MAX_ROLE_CHARS = 16
MAX_PEER_ID_CHARS = 64
# Private-use characters that mark search hits in snippets; never stored in text.
SNIPPET_MARKERS = ("\ue000", "\ue001")

WordLike = Word | Mapping[str, Any]


def clean_text(text: str, limit: int) -> str:
    """Text as stored: snippet markers removed, outer whitespace trimmed, length bounded.

    Cleaning cleaned text changes nothing (a cut never leaves a trailing space), so a caption
    cleaned for display is stored exactly as shown."""
    for marker in SNIPPET_MARKERS:
        text = text.replace(marker, "")
    return text.strip()[:limit].rstrip()


def _seconds(value: float, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise InvalidSegment(f"{what} is not a finite number of seconds")
    return max(0.0, number)


def _confidence(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    return min(1.0, max(0.0, number))


def _word_dict(word: WordLike) -> dict[str, Any] | None:
    if isinstance(word, Word):
        text, start, end, confidence = word.text, word.start_s, word.end_s, word.confidence
    else:
        try:
            text = str(word["text"])
            start, end = float(word["start_s"]), float(word["end_s"])
            confidence = float(word.get("confidence", 1.0))
        except (KeyError, TypeError, ValueError):
            return None
    if not (text.strip() and math.isfinite(start) and math.isfinite(end)):
        return None
    return {
        "text": clean_text(text, MAX_NAME_CHARS),
        "start_s": round(max(0.0, start), 3),
        "end_s": round(max(0.0, end, start), 3),
        "confidence": round(_confidence(confidence) or 0.0, 3),
    }


def normalise_words(words: Sequence[WordLike]) -> list[dict[str, Any]]:
    """Words as stored: `[{text, start_s, end_s, confidence}]`, unusable ones dropped."""
    return [found for word in words[:MAX_WORDS] if (found := _word_dict(word)) is not None]


async def store_final_segment(
    database: Database,
    visit_id: str,
    *,
    speaker_role: str,
    speaker_name: str,
    speaker_peer_id: str,
    start_s: float,
    end_s: float,
    text: str,
    words: Sequence[WordLike],
    confidence: float | None,
    engine: str,
    model: str,
    language: str,
) -> SegmentOut | None:
    """Store one final caption and commit; None (nothing stored) without transcript consent.

    Times are seconds from the start of the call; `words` are `voice.recognition.Word`s or
    mappings with the same fields. Blank text is not stored either.
    """
    start = _seconds(start_s, "start_s")
    end = max(start, _seconds(end_s, "end_s"))
    body = clean_text(text, MAX_SEGMENT_CHARS)
    if not body:
        return None
    async with database.session() as session:
        if not await has_transcript_consent(session, visit_id):
            return None
        segment = TranscriptSegment(
            visit_id=visit_id,
            speaker_role=speaker_role[:MAX_ROLE_CHARS],
            speaker_name=clean_text(speaker_name, MAX_NAME_CHARS),
            speaker_peer_id=speaker_peer_id[:MAX_PEER_ID_CHARS],
            start_s=round(start, 3),
            end_s=round(end, 3),
            text=body,
            words=normalise_words(words),
            confidence=_confidence(confidence),
            engine=engine[:32],
            model=model[:100],
            language=language[:16],
        )
        session.add(segment)
        await session.flush()
        stored = segment_out(segment, None)
    return stored


async def store_chat_message(
    database: Database,
    visit_id: str,
    *,
    sender_role: str,
    sender_name: str,
    text: str,
    sent_at: datetime | None = None,
    sender_peer_id: str = "",
) -> ChatMessageOut | None:
    """Store one chat line and commit. Chat is typed, not recorded: no consent is needed.

    None when the text is blank or the visit does not exist.
    """
    if sent_at is not None and sent_at.tzinfo is None:
        raise ValueError("sent_at needs a timezone")
    body = clean_text(text, MAX_CHAT_CHARS)
    if not body:
        return None
    async with database.session() as session:
        if await session.get(Visit, visit_id) is None:
            log.warning("chat for an unknown visit not stored", extra={"visit_id": visit_id})
            return None
        message = ChatMessage(
            visit_id=visit_id,
            sender_role=sender_role[:MAX_ROLE_CHARS],
            sender_name=clean_text(sender_name, MAX_NAME_CHARS),
            sender_peer_id=sender_peer_id[:MAX_PEER_ID_CHARS],
            text=body,
            sent_at=sent_at or utcnow(),
        )
        session.add(message)
        await session.flush()
        stored = chat_out(message)
    return stored
