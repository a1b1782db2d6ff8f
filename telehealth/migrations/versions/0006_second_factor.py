"""A second factor for staff: TOTP keys and single-use recovery codes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from telehealth.storage.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "totp_factors",
        sa.Column(
            "clinician_id",
            sa.String(32),
            sa.ForeignKey("clinicians.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("secret_encrypted", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "clinician_id",
            sa.String(32),
            sa.ForeignKey("clinicians.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_recovery_codes_clinician_id", "recovery_codes", ["clinician_id"])


def downgrade() -> None:
    op.drop_index("ix_recovery_codes_clinician_id", table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_table("totp_factors")
