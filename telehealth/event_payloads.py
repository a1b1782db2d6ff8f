"""Room events leave the process (Redis) sealed: AES-256-GCM under a subkey of the
application key, each entry bound to its channel.

The subkey is derived with HKDF-SHA256 so the application key (`secret_key`) is never used
for two purposes; every process with the same application key reads the others' events.
"""

from __future__ import annotations

import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from signaling.errors import PayloadRejected
from signaling.pubsub import EventLog, create_backend

SUBKEY_INFO = b"telehealth/room-event-payloads/v1"
FORMAT_VERSION = b"\x01"
NONCE_BYTES = 12  # random per entry: far below the 2^32 entries a key may seal this way


def derive_payload_key(application_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SUBKEY_INFO)
    return hkdf.derive(application_key.encode("utf-8"))


class EventPayloadCipher:
    """The :class:`signaling.pubsub.PayloadCodec` of the app: ``version | nonce | AES-GCM``."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def from_application_key(cls, application_key: str) -> EventPayloadCipher:
        return cls(derive_payload_key(application_key))

    def seal(self, channel: str, data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT_VERSION + nonce + self._aead.encrypt(nonce, data, channel.encode())

    def open(self, channel: str, sealed: bytes) -> bytes:
        if not sealed.startswith(FORMAT_VERSION) or len(sealed) < 1 + NONCE_BYTES + 16:
            raise PayloadRejected("not a sealed room event")
        nonce, ciphertext = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, channel.encode())
        except InvalidTag:
            raise PayloadRejected("a room event did not authenticate") from None


def room_event_log(pubsub_url: str, application_key: str, **options: Any) -> EventLog:
    """The pub/sub backend every server process and command uses, sealing what it sends."""
    return create_backend(
        pubsub_url,
        payload_codec=EventPayloadCipher.from_application_key(application_key),
        **options,
    )
