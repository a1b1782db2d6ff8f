"""Staff session limits: a public id, the idle end, the cap from sign-in, the stage.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from telehealth.storage.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("id", sa.String(32), nullable=True))
        batch.add_column(
            sa.Column("stage", sa.String(24), nullable=False, server_default="signed_in")
        )
        batch.add_column(sa.Column("last_active_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("idle_expires_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("max_expires_at", UTCDateTime(), nullable=True))
    # Sessions opened before this revision get a public id too; they keep their old end.
    sessions = sa.table("sessions", sa.column("token_hash", sa.String), sa.column("id", sa.String))
    connection = op.get_bind()
    for (token_hash,) in connection.execute(sa.select(sessions.c.token_hash)).all():
        connection.execute(
            sessions.update().where(sessions.c.token_hash == token_hash).values(id=uuid.uuid4().hex)
        )
    with op.batch_alter_table("sessions") as batch:
        batch.alter_column("id", existing_type=sa.String(32), nullable=False)
        batch.create_index("ix_sessions_id", ["id"], unique=True)
        batch.create_index("ix_sessions_clinician_id", ["clinician_id"])


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_index("ix_sessions_clinician_id")
        batch.drop_index("ix_sessions_id")
        batch.drop_column("max_expires_at")
        batch.drop_column("idle_expires_at")
        batch.drop_column("last_active_at")
        batch.drop_column("stage")
        batch.drop_column("id")
