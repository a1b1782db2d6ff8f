"""Plain SQLite against SQLCipher for the service's own database work.

    python benchmarks/bench_database_encryption.py [--visits 60] [--segments 100] [--quick]

Two databases are built side by side through the service's storage layer (`Database`,
Alembic migrations, WAL, `secure_delete`), one plain and one encrypted with a random key,
and every step alternates between them so machine load hits both alike:

- insert: one caption segment per transaction, as the live caption sink stores finals
  (`store_final_segment`, which also feeds the FTS5 index through its trigger);
- search: transcript full-text search of one or two words (`search_transcripts`);
- visits: a clinician's day of visits (`list_visits`) and transcript list
  (`list_transcripts`), the two lists the dashboard and review pages read;
- open: a new handle's first connection and query (SQLCipher checks the key there).

Figures are medians in milliseconds, and the encrypted/plain ratio of each. The last line
of output is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telehealth.storage import Database, upgrade_database
from telehealth.storage.database_key import DatabaseKey
from telehealth.storage.models import Clinician
from telehealth.transcripts import store_final_segment
from telehealth.transcripts.consent import record_consent
from telehealth.transcripts.review import list_transcripts
from telehealth.transcripts.search import search_transcripts
from telehealth.visits.service import create_visit, list_visits

VOCABULARY = (
    "chest pain cough fever headache dizzy nausea tablet twice daily morning evening week "
    "breath tight sore throat rash allergy penicillin ibuprofen blood pressure sugar sleep "
    "back knee shoulder swelling since monday tuesday better worse left right side doctor "
    "appointment follow up referral test results scan heart rate breathing inhaler dose"
)
WORDS = tuple(VOCABULARY.split())
DAY = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


class Side:
    """One of the two databases, with the samples measured on it."""

    def __init__(self, name: str, url: str, key: DatabaseKey | None) -> None:
        self.name, self.url, self.key = name, url, key
        self.database = Database(url, sqlite_key=key)
        self.samples: dict[str, list[float]] = {}
        self.clinician_id = ""
        self.visit_ids: list[str] = []

    async def timed(self, metric: str, work: Callable[[], Awaitable[object]]) -> None:
        start = time.perf_counter()
        await work()
        self.samples.setdefault(metric, []).append((time.perf_counter() - start) * 1000)


async def prepare(side: Side, visits: int) -> None:
    await upgrade_database(side.database)
    async with side.database.session() as session:
        # Straight in the table: nobody signs in, so no password hashing.
        row = Clinician(email="bench@clinic.example", display_name="Dr Bench", password_hash="-")
        session.add(row)
        await session.flush()
        side.clinician_id = row.id
        for index in range(visits):
            visit, _ = await create_visit(
                session,
                clinician_id=row.id,
                scheduled_at=DAY + timedelta(days=index % 10, minutes=15 * (index // 10)),
                patient_label=f"Patient {index}",
                invite_ttl=timedelta(hours=24),
            )
            side.visit_ids.append(visit.id)
        await session.flush()
        for visit_id in side.visit_ids:
            await record_consent(session, visit_id, transcript=True, session_hash="a" * 64)


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16)))


async def insert_one(side: Side, visit_id: str, text: str, start_s: float) -> None:
    await store_final_segment(
        side.database,
        visit_id,
        speaker_role="patient",
        speaker_name="Patient",
        speaker_peer_id="p1",
        start_s=start_s,
        end_s=start_s + 3,
        text=text,
        words=[],
        confidence=0.9,
        engine="whisper",
        model="tiny.en",
        language="en",
    )


async def search_once(side: Side, query: str) -> None:
    async with side.database.session() as session:
        await search_transcripts(session, side.clinician_id, query)


async def visits_once(side: Side, day: int) -> None:
    async with side.database.session() as session:
        start = DAY + timedelta(days=day)
        await list_visits(
            session, clinician_id=side.clinician_id, start=start, end=start + timedelta(days=1)
        )
        await list_transcripts(session, side.clinician_id)


async def open_once(side: Side) -> None:
    fresh = Database(side.url, sqlite_key=side.key)
    try:
        await fresh.ping()
    finally:
        await fresh.close()


def summary(sides: list[Side]) -> dict[str, Any]:
    plain, encrypted = sides
    result: dict[str, Any] = {}
    for metric in plain.samples:
        p = statistics.median(plain.samples[metric])
        e = statistics.median(encrypted.samples[metric])
        result[f"{metric}_ms_plain"] = round(p, 3)
        result[f"{metric}_ms_sqlcipher"] = round(e, 3)
        result[f"{metric}_ratio"] = round(e / p, 2) if p else None
    return result


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(14)
    with tempfile.TemporaryDirectory(prefix="bench-db-") as directory:
        base = Path(directory)
        sides = [
            Side("plain", f"sqlite+aiosqlite:///{base / 'plain.db'}", None),
            Side("sqlcipher", f"sqlite+aiosqlite:///{base / 'cipher.db'}", DatabaseKey.generate()),
        ]
        for side in sides:
            await prepare(side, args.visits)
        texts = [sentence(rng) for _ in range(args.visits * args.segments)]
        for index, text in enumerate(texts):
            visit_index = index % args.visits
            for side in sides:
                visit_id = side.visit_ids[visit_index]
                await side.timed(
                    "insert", lambda s=side, v=visit_id, t=text, i=index: insert_one(s, v, t, i)
                )
        queries = [" ".join(rng.sample(WORDS, rng.choice((1, 2)))) for _ in range(args.searches)]
        for query in queries:
            for side in sides:
                await side.timed("search", lambda s=side, q=query: search_once(s, q))
        for day in range(args.searches):
            for side in sides:
                await side.timed("visits", lambda s=side, d=day % 10: visits_once(s, d))
        for _ in range(args.opens):
            for side in sides:
                await side.timed("open", lambda s=side: open_once(s))
        sizes = {}
        for side in sides:
            await side.database.close()
            sizes[f"file_bytes_{side.name}"] = (
                (base / Path(side.url.rsplit("/", 1)[1])).stat().st_size
            )
    return {
        "benchmark": "database_encryption",
        "visits": args.visits,
        "segments": args.visits * args.segments,
        "searches": args.searches,
        **summary(sides),
        **sizes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=60)
    parser.add_argument("--segments", type=int, default=100, help="caption segments per visit")
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--opens", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="10 visits x 20 segments")
    args = parser.parse_args()
    if args.quick:
        args.visits, args.segments, args.searches, args.opens = 10, 20, 50, 10
    result = asyncio.run(main_async(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
