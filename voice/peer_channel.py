"""The assistant peer's data channel: JSON text to the participant's browser, safely.

Sends only text (never None, never bytes), only while the channel is open, keeps a few
messages made before it opened, and drops messages rather than memory when the browser
stops reading.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable

from aiortc import RTCDataChannel

MAX_BUFFERED_BYTES = 256 * 1024
PRE_OPEN_MESSAGES = 32


class EventChannel:
    """The one data channel the peer talks on (adopted when the browser opens it)."""

    def __init__(self, on_message: Callable[[object], None] | None = None) -> None:
        self._on_message = on_message  # what the browser sends (text or bytes, unchecked)
        self._channel: RTCDataChannel | None = None
        self._unsent: deque[str] = deque(maxlen=PRE_OPEN_MESSAGES)  # oldest go first
        self._closed = False
        self.dropped = 0

    @property
    def is_open(self) -> bool:
        return self._channel is not None and self._channel.readyState == "open"

    def adopt(self, channel: RTCDataChannel) -> None:
        """Talk on `channel` from now on (sends what was kept once it is open)."""
        self._channel = channel
        channel.on("open", self._flush_unsent)
        channel.on("close", lambda: self._forget(channel))
        if self._on_message is not None:
            channel.on("message", self._on_message)
        self._flush_unsent()

    def send(self, message: str) -> None:
        """Send `message` if the channel is open; keep it (bounded) if it is not open yet."""
        channel = self._channel
        if channel is None or channel.readyState != "open":
            if not self._closed:
                self._unsent.append(message)
            return
        if channel.bufferedAmount > MAX_BUFFERED_BYTES:
            self.dropped += 1
            return
        with contextlib.suppress(Exception):  # it closed under us: nobody left to tell
            channel.send(message)

    def close(self) -> None:
        """Stop sending; the connection closes the channel itself."""
        self._closed = True
        self._channel = None
        self._unsent.clear()

    def _forget(self, channel: RTCDataChannel) -> None:
        if self._channel is channel:
            self._channel = None

    def _flush_unsent(self) -> None:
        while self._unsent and self.is_open:
            self.send(self._unsent.popleft())
