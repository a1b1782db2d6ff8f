"""Migration 0003: its tables, the dialect's search index, and a clean downgrade."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text

from telehealth.storage import Database
from telehealth.storage.migrate import alembic_config, current_revision

TABLES = {"consents", "transcript_segments", "segment_edits", "chat_messages"}


async def _tables(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def _downgrade(database: Database, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)


async def _postgres_plan(database: Database) -> str:
    """The plan of the search's segment half, with sequential scans discouraged."""
    async with database.engine.connect() as connection:
        await connection.execute(text("SET enable_seqscan = off"))
        rows = await connection.execute(
            text(
                "EXPLAIN SELECT id FROM transcript_segments WHERE to_tsvector('english', text)"
                " @@ websearch_to_tsquery('english', '\"sore\"')"
            )
        )
        return "\n".join(rows.scalars())


@pytest.mark.asyncio
async def test_tables_search_index_and_downgrade(database: Database) -> None:
    assert await current_revision(database) is not None
    tables = await _tables(database)
    assert tables >= TABLES
    assert ("transcript_search" in tables) == (database.dialect == "sqlite")
    if database.dialect == "postgresql":
        async with database.engine.connect() as connection:
            indexes = set(
                (
                    await connection.execute(
                        text(
                            "SELECT indexname FROM pg_indexes"
                            " WHERE schemaname = 'public' AND indexdef LIKE '%USING gin%'"
                        )
                    )
                ).scalars()
            )
        assert indexes == {"ix_transcript_segments_text_search", "ix_segment_edits_text_search"}
        assert "ix_transcript_segments_text_search" in await _postgres_plan(database)

    await _downgrade(database, "0002")
    left = await _tables(database)
    assert not left & (TABLES | {"transcript_search"})
    assert not {name for name in left if name.startswith("transcript_search")}
    assert await current_revision(database) == "0002"
