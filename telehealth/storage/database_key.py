"""The embedded database's key: 32 random bytes, written as 64 hex characters.

SQLCipher gets it as a raw key (``x'...'``), so opening a connection costs no key
derivation; the randomness comes from `secrets`, not from a passphrase.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

DATABASE_KEY_FILE = "database_key"
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class DatabaseKey:
    """A database key and where it came from (a setting is the operator's to change)."""

    hex: str
    from_setting: bool = False

    def __post_init__(self) -> None:
        if not self.is_valid(self.hex):
            raise ValueError("a database key is 64 hexadecimal characters")

    def __repr__(self) -> str:
        return f"DatabaseKey(from_setting={self.from_setting})"

    @staticmethod
    def is_valid(text: str) -> bool:
        return _HEX_KEY.fullmatch(text) is not None

    @classmethod
    def generate(cls) -> DatabaseKey:
        return cls(secrets.token_hex(32))

    @property
    def pragma_literal(self) -> str:
        """The key as SQLCipher's PRAGMA key/rekey value (only hex digits, safe to inline)."""
        return f"\"x'{self.hex.lower()}'\""
