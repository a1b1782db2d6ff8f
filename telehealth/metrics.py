"""Prometheus metrics of one server process: counts and timings, never who or which visit.

Labels are bounded and identify nothing: HTTP method, route template (never the path),
status, websocket close code, queue name. Gauges are read when scraped, from the hub, the
assistant peers and the speech engines, so they cannot drift from what they count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from voice.peer_events import AudioDropped, PeerEvent, Recognized
from voice.recognition import Final

if TYPE_CHECKING:
    from telehealth.assistant.sessions import EventConsumer
    from telehealth.services import Services

__all__ = ["CONTENT_TYPE", "ServiceMetrics"]

# End of speech to the final caption on its way to the room: the figure captions are
# judged by (docs/benchmarks.md), so the buckets bracket its targets.
CAPTION_BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0)


class ServiceMetrics:
    """The process's instruments, in a registry of its own (several apps per test run)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "telehealth_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.ws_closes = Counter(
            "telehealth_ws_closes",
            "Signaling websockets closed by the server, by close code.",
            ["code"],
            registry=self.registry,
        )
        self.caption_final_seconds = Histogram(
            "telehealth_caption_final_seconds",
            "Seconds from the end of an utterance to its final caption being published.",
            buckets=CAPTION_BUCKETS,
            registry=self.registry,
        )
        self.audio_dropped_seconds = Counter(
            "telehealth_audio_dropped_seconds",
            "Seconds of participants' audio dropped because recognition fell behind.",
            registry=self.registry,
        )
        self.queue_dropped = Counter(
            "telehealth_queue_dropped",
            "Items dropped because a bounded queue was full, by queue.",
            ["queue"],
            registry=self.registry,
        )
        self._gauges = {
            name: Gauge(name, text, registry=self.registry)
            for name, text in (
                ("telehealth_ws_connections", "Signaling websockets open on this process."),
                (
                    "telehealth_visits_in_call",
                    "Visits this process follows whose call is under way (two or more in it).",
                ),
                ("telehealth_assistant_peers", "Speech assistant peers this process serves."),
                ("telehealth_speech_streams", "Recognition streams open on this process."),
            )
        }

    def watch(self, services: Services) -> None:
        """Read the gauges from the running services at each scrape."""
        hub, assistants = services.hub, services.assistants
        readers: dict[str, Callable[[], float]] = {
            "telehealth_ws_connections": lambda: hub.local_connections(),
            "telehealth_visits_in_call": lambda: hub.rooms_in_call(),
            "telehealth_assistant_peers": lambda: len(assistants),
            "telehealth_speech_streams": lambda: assistants.streams(),
        }
        for name, read in readers.items():
            self._gauges[name].set_function(read)

    def queue_drop_counter(self, queue: str) -> Callable[[], None]:
        """What a bounded queue calls when it drops an item."""
        return self.queue_dropped.labels(queue=queue).inc

    def observing(self, consumer: EventConsumer, *, captions: bool) -> EventConsumer:
        """`consumer`, also counting dropped audio and (captions) timing each final."""

        async def observe(event: PeerEvent) -> None:
            await consumer(event)
            if isinstance(event, AudioDropped):
                self.audio_dropped_seconds.inc(event.seconds)
            elif captions and isinstance(event, Recognized):
                final = event.event
                if isinstance(final, Final) and final.text.strip():
                    # The stream's wall clock: it was at `audio_s` when the event came out.
                    spoken_until = event.wall_time - event.audio_s + final.end_s
                    self.caption_final_seconds.observe(max(0.0, time.time() - spoken_until))

        return observe

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
