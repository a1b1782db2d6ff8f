"""Intake history: every submitted QuestionnaireResponse is kept as a numbered version;
and when retention deleted a visit's room event log.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from telehealth.storage.models import UTCDateTime

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_response_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "visit_id",
            sa.String(32),
            sa.ForeignKey("visits.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("summary_lines", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint(
            "visit_id", "version", name="uq_intake_response_versions_visit_version"
        ),
    )
    # A completed intake from before versions existed becomes its visit's version 1.
    op.execute(
        """
        INSERT INTO intake_response_versions
            (visit_id, version, source, response, summary_lines, flags, submitted_at)
        SELECT visit_id, 1, source, response, summary_lines, flags,
               COALESCE(completed_at, updated_at)
        FROM intake_responses WHERE status = 'completed'
        """
    )
    with op.batch_alter_table("visits") as batch:
        batch.add_column(sa.Column("room_log_purged_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.drop_column("room_log_purged_at")
    op.drop_table("intake_response_versions")
