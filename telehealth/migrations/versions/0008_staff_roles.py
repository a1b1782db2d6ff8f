"""Staff roles (admin, clinician) and a temporary password to be changed at first sign-in.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every account made before roles existed is a clinician.
    with op.batch_alter_table("clinicians") as batch:
        batch.add_column(
            sa.Column("role", sa.String(16), nullable=False, server_default="clinician")
        )
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("clinicians") as batch:
        batch.drop_column("must_change_password")
        batch.drop_column("role")
