"""Single-use recovery codes: ten per account, shown once, stored as keyed hashes.

A code has 50 random bits. The hash is an HMAC keyed with the server secret, so a copy of
the database alone does not let anyone try codes offline."""

from __future__ import annotations

import hashlib
import hmac
import secrets

CODES_PER_ACCOUNT = 10
# Crockford-like: no 0/O or 1/I/L to misread on paper.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
GROUP = 5
CODE_CHARACTERS = 10


def new_codes() -> list[str]:
    return [
        "-".join(
            "".join(secrets.choice(ALPHABET) for _ in range(GROUP))
            for _ in range(CODE_CHARACTERS // GROUP)
        )
        for _ in range(CODES_PER_ACCOUNT)
    ]


def normalise(code: str) -> str:
    """As typed: spaces, dashes and case do not matter."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def looks_like_recovery_code(code: str) -> bool:
    text = normalise(code)
    return len(text) == CODE_CHARACTERS and all(ch in ALPHABET for ch in text)


def code_hash(server_secret: str, code: str) -> str:
    key = hmac.new(server_secret.encode(), b"telehealth recovery codes v1", hashlib.sha256)
    return hmac.new(key.digest(), normalise(code).encode(), hashlib.sha256).hexdigest()
