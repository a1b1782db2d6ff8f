"""What a backend does to an entry's bytes at the edge of the process.

A shared backend (Redis) stores entries outside the process, where room events carry
names, chat and captions. The application injects a :class:`PayloadCodec` that seals
each entry (authenticated encryption, say) before it leaves and opens it on the way
back; ``signaling`` itself holds no key and knows no cipher.
"""

from __future__ import annotations

from typing import Protocol


class PayloadCodec(Protocol):
    """Seal an entry for storage outside the process, and open it again.

    ``channel`` is the entry's channel name, for the codec to bind the entry to it (an
    entry moved to another channel must not open). ``open`` raises
    :class:`~signaling.errors.PayloadRejected` for an entry it cannot authenticate.
    """

    def seal(self, channel: str, data: bytes) -> bytes:
        """The stored form of ``data``."""
        ...

    def open(self, channel: str, sealed: bytes) -> bytes:
        """``data`` back from its stored form."""
        ...


class PlainPayloads:
    """Entries stored as they are (the default, and for a backend inside the process)."""

    def seal(self, channel: str, data: bytes) -> bytes:  # noqa: ARG002 - the Protocol's shape
        """Return ``data`` unchanged."""
        return data

    def open(self, channel: str, sealed: bytes) -> bytes:  # noqa: ARG002 - the Protocol's shape
        """Return ``sealed`` unchanged."""
        return sealed
