"""Full-text search over the current text of a clinician's transcript segments.

SQLite uses the FTS5 table `transcript_search` (kept current by triggers, see migration
0003); PostgreSQL uses `to_tsvector('english', ...)` with GIN indexes on segments and on
corrections. A user's query never reaches either syntax directly: it is reduced to words
and "quoted phrases", every one of them quoted again, so `NEAR(`, `"unbalanced` or `-`
are plain text, never an error.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import String, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.storage.models import UTCDateTime
from telehealth.transcripts.schemas import SearchHit
from telehealth.transcripts.store import SNIPPET_MARKERS

MAX_TERMS = 16
MAX_HITS = 50
_PHRASE = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"[^\W_]+")
OPEN, CLOSE = SNIPPET_MARKERS


def search_terms(query: str) -> list[str]:
    """Words and quoted phrases of a query, punctuation dropped; at most MAX_TERMS."""
    terms: list[str] = []
    position = 0
    for match in _PHRASE.finditer(query):
        terms.extend(_WORD.findall(query[position : match.start()]))
        phrase = " ".join(_WORD.findall(match.group(1)))
        if phrase:
            terms.append(phrase)
        position = match.end()
    # An unbalanced quote is just a character here.
    terms.extend(_WORD.findall(query[position:]))
    return [term.lower() for term in terms[:MAX_TERMS]]


def _quoted(terms: list[str]) -> str:
    # Terms hold only letters, digits and spaces: quoting them cannot break out.
    return " ".join(f'"{term}"' for term in terms)


def split_snippet(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """A snippet with OPEN/CLOSE markers as plain text and [start, end) match offsets."""
    plain: list[str] = []
    marks: list[tuple[int, int]] = []
    length = 0
    opened: int | None = None
    for piece in re.split(f"([{OPEN}{CLOSE}])", marked):
        if piece == OPEN:
            opened = length
        elif piece == CLOSE:
            if opened is not None and length > opened:
                marks.append((opened, length))
            opened = None
        else:
            plain.append(piece)
            length += len(piece)
    return "".join(plain), marks


_SQLITE_SEARCH = text(
    """
    SELECT s.id AS segment_id, s.visit_id, s.speaker_name, s.speaker_role, s.start_s,
           v.scheduled_at, v.patient_label,
           snippet(transcript_search, 0, :open, :close, '…', 24) AS snippet
    FROM transcript_search
    JOIN transcript_segments s ON s.id = transcript_search.rowid
    JOIN visits v ON v.id = s.visit_id
    WHERE transcript_search MATCH :match AND v.clinician_id = :clinician
    ORDER BY transcript_search.rank, v.scheduled_at DESC, s.start_s
    LIMIT :limit
    """
)

# The current text is the newest correction, else the recognized text; each half of the
# union can use its own GIN index.
_POSTGRES_SEARCH = text(
    """
    WITH q AS (SELECT websearch_to_tsquery('english', :match) AS query),
    current_text AS (
        SELECT s.id AS segment_id, s.text AS body
        FROM transcript_segments s, q
        WHERE to_tsvector('english', s.text) @@ q.query
          AND NOT EXISTS (SELECT 1 FROM segment_edits e WHERE e.segment_id = s.id)
        UNION ALL
        SELECT e.segment_id, e.edited_text
        FROM segment_edits e, q
        WHERE to_tsvector('english', e.edited_text) @@ q.query
          AND e.id = (SELECT max(e2.id) FROM segment_edits e2
                      WHERE e2.segment_id = e.segment_id)
    )
    SELECT s.id AS segment_id, s.visit_id, s.speaker_name, s.speaker_role, s.start_s,
           v.scheduled_at, v.patient_label,
           ts_headline('english', c.body, q.query, :headline) AS snippet
    FROM current_text c
    JOIN transcript_segments s ON s.id = c.segment_id
    JOIN visits v ON v.id = s.visit_id
    CROSS JOIN q
    WHERE v.clinician_id = :clinician
    ORDER BY ts_rank(to_tsvector('english', c.body), q.query) DESC,
             v.scheduled_at DESC, s.start_s
    LIMIT :limit
    """
)
_HEADLINE_OPTIONS = (
    f"StartSel={OPEN}, StopSel={CLOSE}, MaxWords=30, MinWords=12, ShortWord=2, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)


async def search_transcripts(
    session: AsyncSession, clinician_id: str, query: str, *, limit: int = MAX_HITS
) -> list[SearchHit]:
    """Segments of the clinician's visits whose current text has every word of `query`."""
    terms = search_terms(query)
    if not terms:
        return []
    params: dict[str, Any] = {
        "match": _quoted(terms),
        "clinician": clinician_id,
        "limit": max(1, min(limit, MAX_HITS)),
    }
    dialect = (await session.connection()).dialect.name
    if dialect == "sqlite":
        statement = _SQLITE_SEARCH.bindparams(
            bindparam("open", type_=String), bindparam("close", type_=String)
        )
        params.update(open=OPEN, close=CLOSE)
    elif dialect == "postgresql":
        statement = _POSTGRES_SEARCH
        params["headline"] = _HEADLINE_OPTIONS
    else:  # pragma: no cover - the settings only accept SQLite and PostgreSQL
        raise NotImplementedError(f"no transcript search on {dialect}")
    result = await session.execute(statement.columns(scheduled_at=UTCDateTime()), params)
    hits: list[SearchHit] = []
    for row in result.mappings():
        snippet, marks = split_snippet(str(row["snippet"] or ""))
        hits.append(
            SearchHit(
                visit_id=row["visit_id"],
                scheduled_at=row["scheduled_at"],
                patient_label=row["patient_label"],
                segment_id=int(row["segment_id"]),
                speaker_name=row["speaker_name"],
                speaker_role=row["speaker_role"],
                start_s=float(row["start_s"]),
                snippet=snippet,
                marks=marks,
            )
        )
    return hits
