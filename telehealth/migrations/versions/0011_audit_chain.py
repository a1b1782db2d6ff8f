"""The audit trail as a hash chain: client address, outcome, previous and own hash per event,
and the chain head row that serializes appends. Events already stored are chained in id
order, so the trail verifies from its first event.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from telehealth.audit_chain import GENESIS_HASH, HEAD_ID, event_digest

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 1000


def _events() -> sa.TableClause:
    return sa.table(
        "audit_events",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor_type", sa.String()),
        sa.column("actor_id", sa.String()),
        sa.column("action", sa.String()),
        sa.column("visit_id", sa.String()),
        sa.column("detail", sa.JSON()),
        sa.column("note", sa.Text()),
        sa.column("client_address", sa.String()),
        sa.column("outcome", sa.String()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )


def _chain_existing(connection: sa.Connection) -> tuple[int, str]:
    events = _events()
    last_id, last_hash = 0, GENESIS_HASH
    while True:
        rows = connection.execute(
            sa.select(events).where(events.c.id > last_id).order_by(events.c.id).limit(BATCH)
        ).all()
        if not rows:
            return last_id, last_hash
        for row in rows:
            fields = dict(row._mapping)
            fields["prev_hash"] = last_hash
            digest = event_digest(fields)
            connection.execute(
                sa.update(events)
                .where(events.c.id == row.id)
                .values(prev_hash=last_hash, hash=digest)
            )
            last_id, last_hash = row.id, digest


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("client_address", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("outcome", sa.String(16), nullable=False, server_default="success")
        )
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=False, server_default=""))
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("anchor_id", sa.BigInteger(), nullable=False),
        sa.Column("anchor_hash", sa.String(64), nullable=False),
    )
    last_id, last_hash = _chain_existing(op.get_bind())
    op.bulk_insert(
        head,
        [
            {
                "id": HEAD_ID,
                "last_id": last_id,
                "last_hash": last_hash,
                "anchor_id": 0,
                "anchor_hash": GENESIS_HASH,
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("outcome")
        batch.drop_column("client_address")
