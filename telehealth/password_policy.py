"""What a new staff password must be: long, and not common or guessable.

Length alone lets "password1234" through; zxcvbn estimates how many guesses a password
takes against lists of common passwords, words, names, keyboard patterns, dates and the
person's own email and name.
"""

from __future__ import annotations

from collections.abc import Iterable

from zxcvbn import zxcvbn

from telehealth.security import MIN_PASSWORD_LENGTH, WeakPassword

# zxcvbn's 3: "safely unguessable", about 10^8 guesses or more.
MIN_SCORE = 3
# zxcvbn slows down on long input; anything longer than this prefix is at least as strong.
CHECKED_PREFIX = 64


def check_new_password(password: str, *, user_inputs: Iterable[str] = ()) -> None:
    """Raise WeakPassword, saying why (never echoing the password), if it is not good enough."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    inputs = [part for value in user_inputs for part in _parts(value)]
    result = zxcvbn(password[:CHECKED_PREFIX], user_inputs=inputs)
    if int(result["score"]) < MIN_SCORE:
        warning = str(result["feedback"].get("warning") or "").rstrip(".").lower()
        reason = f" ({warning})" if warning else ""
        raise WeakPassword(
            f"that password is too easy to guess{reason}; "
            "use a longer passphrase of unrelated words"
        )


def _parts(value: str) -> list[str]:
    """An email or name, and its pieces ("ada", "clinic", "lovelace")."""
    pieces = value.lower().replace("@", " ").replace(".", " ").split()
    return [value.lower(), *pieces]
