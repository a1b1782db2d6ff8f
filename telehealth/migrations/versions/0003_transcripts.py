"""Transcript consent, segments and their corrections, chat messages, full-text search.

Search runs on the current text of a segment (its newest correction, else what was
recognized). SQLite keeps an FTS5 table in step with triggers; PostgreSQL indexes
`to_tsvector('english', ...)` of segments and of corrections with GIN, and the search query
picks whichever is current (telehealth/transcripts/search.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from telehealth.storage.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SQLITE_SEARCH = [
    # Like PostgreSQL's english configuration: "coughing" finds "cough" (porter), case is
    # folded, accents are kept ("cafe" does not find "café").
    "CREATE VIRTUAL TABLE transcript_search USING fts5("
    "text, tokenize = 'porter unicode61 remove_diacritics 0')",
    """
    CREATE TRIGGER transcript_segments_search_insert AFTER INSERT ON transcript_segments
    BEGIN
        INSERT INTO transcript_search (rowid, text) VALUES (new.id, new.text);
    END
    """,
    """
    CREATE TRIGGER transcript_segments_search_delete AFTER DELETE ON transcript_segments
    BEGIN
        DELETE FROM transcript_search WHERE rowid = old.id;
    END
    """,
    """
    CREATE TRIGGER segment_edits_search_insert AFTER INSERT ON segment_edits
    BEGIN
        DELETE FROM transcript_search WHERE rowid = new.segment_id;
        INSERT INTO transcript_search (rowid, text) VALUES (new.segment_id, new.edited_text);
    END
    """,
    # Not done by the app, but if a correction is ever removed the index follows.
    """
    CREATE TRIGGER segment_edits_search_delete AFTER DELETE ON segment_edits
    BEGIN
        DELETE FROM transcript_search WHERE rowid = old.segment_id;
        INSERT INTO transcript_search (rowid, text)
        SELECT s.id, COALESCE(
            (SELECT e.edited_text FROM segment_edits e
             WHERE e.segment_id = s.id ORDER BY e.id DESC LIMIT 1),
            s.text)
        FROM transcript_segments s WHERE s.id = old.segment_id;
    END
    """,
]

POSTGRES_SEARCH = [
    "CREATE INDEX ix_transcript_segments_text_search ON transcript_segments "
    "USING gin (to_tsvector('english', text))",
    "CREATE INDEX ix_segment_edits_text_search ON segment_edits "
    "USING gin (to_tsvector('english', edited_text))",
]


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column(
            "visit_id",
            sa.String(32),
            sa.ForeignKey("visits.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("transcript", sa.Boolean(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by_session", sa.String(64), nullable=False),
    )
    op.create_table(
        "transcript_segments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "visit_id",
            sa.String(32),
            sa.ForeignKey("visits.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("speaker_role", sa.String(16), nullable=False),
        sa.Column("speaker_name", sa.String(200), nullable=False),
        sa.Column("speaker_peer_id", sa.String(64), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_transcript_segments_visit_start", "transcript_segments", ["visit_id", "start_s"]
    )
    op.create_table(
        "segment_edits",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "segment_id",
            sa.Integer(),
            sa.ForeignKey("transcript_segments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("edited_text", sa.Text(), nullable=False),
        sa.Column(
            "editor_clinician_id",
            sa.String(32),
            sa.ForeignKey("clinicians.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("edited_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_segment_edits_segment_id", "segment_edits", ["segment_id"])
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "visit_id",
            sa.String(32),
            sa.ForeignKey("visits.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("sender_role", sa.String(16), nullable=False),
        sa.Column("sender_name", sa.String(200), nullable=False),
        sa.Column("sender_peer_id", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_chat_messages_visit_sent", "chat_messages", ["visit_id", "sent_at"])

    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_SEARCH, "postgresql": POSTGRES_SEARCH}.get(dialect, [])
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS transcript_search")
    op.drop_table("chat_messages")
    op.drop_table("segment_edits")
    op.drop_table("transcript_segments")
    op.drop_table("consents")
