"""Final captions reach the transcript through a bounded writer: the caption relay (the
assistant peer's event consumer) never waits on the database, the stored text is the live
text, and a full queue drops a segment with a log line and a metric count, nothing else."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select

from signaling.hub import RoomHub
from signaling.peers import PeerInfo
from signaling.pubsub import create_backend
from signaling.server_messages import MAX_CAPTION_CHARS, Caption
from telehealth import queued_writer
from telehealth.assistant.captions import CaptionRelay, FinalSegment
from telehealth.assistant.transcript_sink import TranscriptWriter
from telehealth.metrics import ServiceMetrics
from telehealth.settings import Settings
from telehealth.storage import Database
from telehealth.storage.models import TranscriptSegment
from tests.telehealth.api_client import running_app
from tests.telehealth.transcripts.conftest import Clinic
from voice.peer_events import Recognized
from voice.recognition import EngineInfo, Final, Word

SPEAKER = PeerInfo(peer_id="p-1", role="patient", name="Jo")
ENGINE = EngineInfo("whisper", "whisper-tiny.en", "en", "/models/x", 16000)


class CaptionHub(RoomHub):
    """The room hub, also keeping the captions it published."""

    def __init__(self) -> None:
        super().__init__(create_backend("memory://"))
        self.captions: list[Caption] = []

    async def inject_caption(self, visit_id: str, caption: Caption) -> None:
        self.captions.append(caption)
        await super().inject_caption(visit_id, caption)


class SlowDatabaseWriter(TranscriptWriter):
    """The transcript writer on a database that answers only once `answer` is set."""

    def __init__(self, database: Database, *, bound: int = 100) -> None:
        super().__init__(database, bound=bound)
        self.writing = asyncio.Event()
        self.answer = asyncio.Event()

    async def write(self, item: FinalSegment) -> None:
        self.writing.set()
        await self.answer.wait()
        await super().write(item)


@pytest_asyncio.fixture
async def hub() -> AsyncIterator[CaptionHub]:
    hub = CaptionHub()
    yield hub
    await hub.close()


def final(text: str, at_s: float = 1.0) -> Recognized:
    words = tuple(Word(word, at_s, at_s + 0.1, 0.9) for word in text.split()[:3])
    return Recognized(Final(text, at_s, at_s + 1.0, words, 0.8), audio_s=at_s + 2, wall_time=100)


async def stored_texts(database: Database, visit_id: str) -> list[str]:
    async with database.session() as session:
        rows = await session.scalars(
            select(TranscriptSegment)
            .where(TranscriptSegment.visit_id == visit_id)
            .order_by(TranscriptSegment.start_s)
        )
        return [row.text for row in rows]


def relay_for(hub: CaptionHub, visit_id: str, writer: TranscriptWriter) -> CaptionRelay:
    return CaptionRelay(hub, visit_id, SPEAKER, ENGINE, call_started_at=None, sink=writer)


@pytest.mark.asyncio
async def test_captions_go_out_at_once_while_the_database_is_slow(
    clinic: Clinic, hub: CaptionHub
) -> None:
    writer = SlowDatabaseWriter(clinic.database)
    writer.start()
    relay = relay_for(hub, clinic.consented, writer)
    # Both finals are published well before the database answers the first write.
    async with asyncio.timeout(1.0):
        await relay(final("my chest hurts when I climb stairs", 1.0))
        await writer.writing.wait()
        await relay(final("and it has for a week", 3.0))
    assert [c.text for c in hub.captions] == [
        "my chest hurts when I climb stairs",
        "and it has for a week",
    ]
    assert await stored_texts(clinic.database, clinic.consented) == []

    writer.answer.set()
    await writer.stop()  # drains the queue
    assert await stored_texts(clinic.database, clinic.consented) == [c.text for c in hub.captions]


@pytest.mark.asyncio
async def test_a_long_utterance_is_stored_as_it_was_shown(clinic: Clinic, hub: CaptionHub) -> None:
    writer = TranscriptWriter(clinic.database)
    writer.start()
    relay = relay_for(hub, clinic.consented, writer)
    # Longer than any caption may be, with the private-use marks search uses for hits.
    spoken = "  " + " ".join(f"word{n}\ue000" for n in range(1500)) + "  "
    await relay(final(spoken))
    await writer.stop()
    (caption,) = hub.captions
    (stored,) = await stored_texts(clinic.database, clinic.consented)
    assert stored == caption.text
    assert MAX_CAPTION_CHARS - 1 <= len(stored) <= MAX_CAPTION_CHARS  # no trailing space
    assert stored.startswith("word0 word1 ") and "\ue000" not in stored


@pytest.mark.asyncio
async def test_a_full_queue_drops_with_a_log_line_and_a_count(
    clinic: Clinic, hub: CaptionHub, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = ServiceMetrics()
    writer = SlowDatabaseWriter(clinic.database, bound=2)
    writer.on_drop = metrics.queue_drop_counter(writer.name)
    writer.start()
    relay = relay_for(hub, clinic.consented, writer)
    await relay(final("first line", 1.0))
    await writer.writing.wait()  # the writer holds the first; the queue has room for two
    with caplog.at_level(logging.INFO, logger="telehealth"):
        async with asyncio.timeout(1.0):
            for n, words in enumerate(("second line", "third line", "fourth line"), start=2):
                await relay(final(words, float(n * 2)))
    assert [c.text for c in hub.captions] == [
        "first line",
        "second line",
        "third line",
        "fourth line",
    ]
    (dropped,) = [r for r in caplog.records if "queue full" in r.getMessage()]
    assert dropped.getMessage() == "transcript-writer queue full; an item was dropped"
    assert getattr(dropped, "visit_id", None) == clinic.consented
    assert getattr(dropped, "segment_id", None) == "p-1-3"
    assert "fourth line" not in f"{dropped.getMessage()} {vars(dropped)}"
    count = metrics.registry.get_sample_value(
        "telehealth_queue_dropped_total", {"queue": "transcript-writer"}
    )
    assert count == 1.0

    writer.answer.set()
    await writer.stop()
    assert await stored_texts(clinic.database, clinic.consented) == [
        "first line",
        "second line",
        "third line",
    ]
    # The relay goes on: later finals are stored again.
    writer = TranscriptWriter(clinic.database)
    writer.start()
    relay.sink = writer
    await relay(final("fifth line", 10.0))
    await writer.stop()
    assert (await stored_texts(clinic.database, clinic.consented))[-1] == "fifth line"


@pytest.mark.asyncio
async def test_the_app_runs_the_writer_in_its_lifespan_and_counts_its_drops(
    settings: Settings,
) -> None:
    async with running_app(settings) as app:
        services = app.state.services
        writer = services.caption_sink
        assert isinstance(writer, TranscriptWriter)
        assert writer._task is not None and not writer._task.done()
        assert writer.on_drop is not None
        writer.on_drop()
        count = services.metrics.registry.get_sample_value(
            "telehealth_queue_dropped_total", {"queue": "transcript-writer"}
        )
        assert count == 1.0
    assert writer._task.done()  # stopped (drained) with the app


@pytest.mark.asyncio
async def test_stopping_with_a_full_queue_behind_a_hung_write_ends_in_time(
    clinic: Clinic, hub: CaptionHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queued_writer, "DRAIN_TIMEOUT_S", 0.2)
    writer = SlowDatabaseWriter(clinic.database, bound=1)
    writer.start()
    relay = relay_for(hub, clinic.consented, writer)
    await relay(final("first line", 1.0))
    await writer.writing.wait()
    await relay(final("second line", 3.0))  # the queue is full now
    async with asyncio.timeout(2.0):
        await writer.stop()  # the database never answers: given up after the drain timeout
    assert await stored_texts(clinic.database, clinic.consented) == []
