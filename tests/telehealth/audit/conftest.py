"""A migrated database (SQLite, and PostgreSQL when configured) and raw SQL on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from sqlalchemy import text

from telehealth import audit
from telehealth.storage import Database, upgrade_database

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await upgrade_database(db)
    yield db
    await db.close()


async def append_events(database: Database, count: int, *, start: datetime = START) -> None:
    """`count` events an hour apart from `start`, each in its own transaction."""
    for index in range(count):
        async with database.session() as session:
            event = audit.record(
                session,
                actor_type="clinician",
                actor_id=f"clin{index % 3}",
                action="transcript.viewed",
                visit_id=f"visit{index}",
                detail={"n": index},
                client_address="192.0.2.7",
            )
            event.at = start + timedelta(hours=index)


async def raw(database: Database, sql: str) -> None:
    """What someone with write access to the database could do behind the app's back."""
    async with database.engine.begin() as connection:
        await connection.execute(text(sql))
