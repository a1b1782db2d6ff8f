"""The audit trail as a hash chain: each event stores the hash of the one before and its own.

An event's hash is SHA-256 over a canonical JSON of its fields and the previous event's
hash, so editing a row breaks its own hash and deleting one breaks the link of the next.

Appends are serialized by the single `audit_chain_head` row: the first statement of a
flush that adds events is an UPDATE of that row, which takes PostgreSQL's row lock (held
to the end of the transaction) and SQLite's write lock (the database's one writer). Only
then is the head read, the new events numbered and hashed after it, and the head moved on,
so two transactions can never both append after the same event. The events commit (or
roll back) with the transaction that records them, head included.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.attributes import instance_state

from telehealth.storage.models import AuditChainHead, AuditEvent, utcnow

# The previous hash of the very first event.
GENESIS_HASH = "0" * 64
HEAD_ID = 1
# How long an append waits for another transaction's append to commit (PostgreSQL).
HEAD_LOCK_TIMEOUT_S = 10.0


class AuditEventImmutable(RuntimeError):
    """Code tried to change an audit event that is already stored; events are append-only."""


def canonical_time(value: datetime) -> str:
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat(timespec="microseconds")


def event_digest(fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of an event's fields, `prev_hash` included, in one canonical form."""
    canonical = {
        "id": int(fields["id"]),
        "at": canonical_time(fields["at"]),
        "actor_type": fields["actor_type"],
        "actor_id": fields["actor_id"],
        "action": fields["action"],
        "visit_id": fields["visit_id"],
        "client_address": fields["client_address"],
        "outcome": fields["outcome"],
        "detail": fields["detail"] or {},
        "note": fields["note"] or "",
        "prev_hash": fields["prev_hash"],
    }
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def stored_digest(row: AuditEvent) -> str:
    """What `row`'s hash should be, from its stored fields."""
    return event_digest(
        {
            "id": row.id,
            "at": row.at,
            "actor_type": row.actor_type,
            "actor_id": row.actor_id,
            "action": row.action,
            "visit_id": row.visit_id,
            "client_address": row.client_address,
            "outcome": row.outcome,
            "detail": row.detail,
            "note": row.note,
            "prev_hash": row.prev_hash,
        }
    )


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where the chain ends (its last event) and where the kept trail starts (the anchor)."""

    last_id: int
    last_hash: str
    anchor_id: int
    anchor_hash: str


def lock_head(connection: Connection) -> ChainHead | None:
    """Take the chain's lock (until the transaction ends) and read where the chain ends."""
    head = AuditChainHead
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        # Every wait has a bound: a writer that waits on itself (two transactions of one
        # request, the first holding the chain) fails instead of hanging. SQLite has its
        # busy timeout.
        connection.execute(text(f"SET LOCAL lock_timeout = '{int(HEAD_LOCK_TIMEOUT_S * 1000)}ms'"))
    # A write first: a SELECT would not take SQLite's write lock, and another writer could
    # append between reading the head and moving it.
    connection.execute(update(head).where(head.id == HEAD_ID).values(last_id=head.last_id))
    if postgres:
        connection.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
    row = connection.execute(
        select(head.last_id, head.last_hash, head.anchor_id, head.anchor_hash).where(
            head.id == HEAD_ID
        )
    ).one_or_none()
    if row is None:
        return None
    return ChainHead(row.last_id, row.last_hash, row.anchor_id, row.anchor_hash)


def _fill_defaults(row: AuditEvent) -> None:
    # Column defaults are applied by the INSERT, after hashing: set them first.
    defaults: dict[str, Any] = {"at": utcnow(), "detail": {}, "note": "", "outcome": "success"}
    for name, value in defaults.items():
        if getattr(row, name, None) is None:
            setattr(row, name, value)


def _chain_new_events(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    for candidate in session.dirty:
        if isinstance(candidate, AuditEvent) and session.is_modified(candidate):
            raise AuditEventImmutable(f"audit event {candidate.id} is stored and cannot change")
    new = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if not new:
        return
    new.sort(key=lambda obj: instance_state(obj).insert_order or 0)
    connection = session.connection()
    head = lock_head(connection)
    if head is None:
        raise RuntimeError("the audit chain head is missing; run the migrations")
    last_id, last_hash = head.last_id, head.last_hash
    for row in new:
        _fill_defaults(row)
        last_id += 1
        row.id = last_id
        row.prev_hash = last_hash
        row.hash = stored_digest(row)
        last_hash = row.hash
    connection.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(last_id=last_id, last_hash=last_hash)
    )


def install() -> None:
    """Chain every audit event any session flushes (idempotent)."""
    if not event.contains(Session, "before_flush", _chain_new_events):
        event.listen(Session, "before_flush", _chain_new_events)


install()
