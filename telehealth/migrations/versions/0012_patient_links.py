"""Patient links: a patient session knows its invite and why it ended; invites their use.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from telehealth.storage.models import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(
            sa.Column(
                "invite_id",
                sa.String(32),
                sa.ForeignKey("invites.id", name="fk_sessions_invite_id", ondelete="CASCADE"),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("end_reason", sa.String(24), nullable=True))
        batch.create_index("ix_sessions_invite_id", ["invite_id"])
        batch.create_index("ix_sessions_visit_id", ["visit_id"])
    with op.batch_alter_table("invites") as batch:
        batch.add_column(sa.Column("redeemed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("redemptions", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("invites") as batch:
        batch.drop_column("redemptions")
        batch.drop_column("redeemed_at")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_index("ix_sessions_visit_id")
        batch.drop_index("ix_sessions_invite_id")
        batch.drop_column("end_reason")
        batch.drop_column("invite_id")
