"""Pub/sub backends for room events, chosen by URL: ``memory://`` or ``redis://``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from signaling.errors import UnsupportedBackend
from signaling.pubsub.base import EventLog
from signaling.pubsub.codec import PayloadCodec, PlainPayloads
from signaling.pubsub.memory import MemoryEventLog

__all__ = ["EventLog", "MemoryEventLog", "PayloadCodec", "PlainPayloads", "create_backend"]


def create_backend(
    url: str, *, payload_codec: PayloadCodec | None = None, **options: Any
) -> EventLog:
    """Make the event log backend named by ``url`` (not yet connected).

    ``memory://`` is in-process (one server process only); ``redis://`` and ``rediss://``
    use Redis Streams and let several processes serve one visit. ``options`` go to the
    backend's constructor (e.g. ``key_prefix``, ``max_entries``, ``ttl_s``).
    ``payload_codec`` seals entries stored outside the process (Redis); the in-process
    backend keeps them as they are.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        return MemoryEventLog(**options)
    if scheme in ("redis", "rediss", "unix"):
        from signaling.pubsub.redis_streams import RedisEventLog

        return RedisEventLog(url, payload_codec=payload_codec, **options)
    raise UnsupportedBackend(
        f"unsupported pub/sub URL scheme {scheme!r}; use memory:// or redis://"
    )
