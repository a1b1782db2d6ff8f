"""The PostgreSQL and Redis servers the tests use, found once per test run.

`TELEHEALTH_TEST_POSTGRES_URL` / `TELEHEALTH_TEST_REDIS_URL` name them; without those,
the local servers on 127.0.0.1 (PostgreSQL as user postgres, Redis database 0) are used
when they answer. `make test` starts them first when they are installed but stopped
(`scripts/ci-services`), so a machine that has them runs every test. The pytest header
says which backends ran.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

LOCAL_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


def _answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 2):
            return True
    except OSError:
        return False


def _server(variable: str, local_url: str) -> tuple[str | None, str]:
    """The server's URL (or None) and how it was chosen, for the report and skip reasons."""
    named = os.environ.get(variable)
    if named:
        return named, f"{variable}"
    if _answers(local_url):
        return local_url, "the local server"
    return None, f"{variable} is not set and nothing answers at {urlsplit(local_url).netloc}"


POSTGRES_ADMIN_URL, POSTGRES_SOURCE = _server("TELEHEALTH_TEST_POSTGRES_URL", LOCAL_POSTGRES_URL)
REDIS_URL, REDIS_SOURCE = _server("TELEHEALTH_TEST_REDIS_URL", LOCAL_REDIS_URL)


def backends_report() -> list[str]:
    """Lines for the pytest header: which database and pub/sub backends this run tests."""

    def line(kind: str, always: str, name: str, url: str | None, source: str) -> str:
        if url is None:
            return f"{kind}: {always} only ({name} tests skipped: {source})"
        where = urlsplit(url)
        return f"{kind}: {always}, {name} at {where.hostname}:{where.port} ({source})"

    return [
        line("database backends", "sqlite", "postgresql", POSTGRES_ADMIN_URL, POSTGRES_SOURCE),
        line("pub/sub backends", "memory", "redis", REDIS_URL, REDIS_SOURCE),
    ]
