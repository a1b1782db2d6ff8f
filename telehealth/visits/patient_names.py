"""The name a patient types when opening their link: their own name, nothing else.

Other participants see it beside the role the server gave the session (always "patient"),
so it must not be able to pass for a role or a staff member: brackets, invisible and
direction-changing characters, and the words of staff roles and titles are refused.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_CHARS = 100
# Brackets would let a name carry a fake role tag ("Sam (clinic staff)").
_FORBIDDEN_CHARACTERS = frozenset("()[]{}<>")
# Whole words, case-insensitive: what staff are called, or call themselves, here.
_STAFF_WORDS = frozenset(
    {
        "admin",
        "administrator",
        "assistant",
        "clinic",
        "clinician",
        "doctor",
        "dr",
        "moderator",
        "nurse",
        "operator",
        "staff",
        "system",
    }
)
_WORD = re.compile(r"[^\W\d_]+")


class NameRefused(ValueError):
    """The typed name cannot be used; the message says what to change."""


def patient_display_name(typed: str) -> str:
    """The name to show, tidied (one space between words); NameRefused if it cannot be."""
    # NFKC: full-width and other look-alike forms become the letters they look like.
    text = unicodedata.normalize("NFKC", typed)
    if any(unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs") for char in text):
        raise NameRefused("please type your name without hidden or control characters")
    name = " ".join(text.split())
    if not name:
        raise NameRefused("please type your name")
    if len(name) > MAX_NAME_CHARS:
        raise NameRefused(f"please use at most {MAX_NAME_CHARS} characters")
    if any(char in _FORBIDDEN_CHARACTERS for char in name):
        raise NameRefused("please type your name without brackets")
    if any(word.casefold() in _STAFF_WORDS for word in _WORD.findall(name)):
        raise NameRefused("please type only your own name, without titles or words such as staff")
    return name
