"""Answers to the questions a page asks by voice: yes or no, and a person's name. Pure."""

from __future__ import annotations

import re

from telehealth.navigation.actions import confirmation_answers
from telehealth.navigation.matching import ActionPhrases, hear
from telehealth.navigation.phrase_lists import wake_words

MAX_NAME_CHARS = 100

# How people introduce their name; what follows is the name.
_NAME_LEADS = re.compile(
    r"^(?:(?:hi|hello|yes|yeah|ok|okay|so|um|uh|well)[\s,.!]+)*"
    r"(?:my\s+name\s+is|my\s+name's|the\s+name\s+is|i\s+am|i'm|it\s+is|it's|this\s+is|"
    r"call\s+me|you\s+can\s+call\s+me)(?:\s+|[\s,.!]*$)",
    re.IGNORECASE,
)
_FILLERS = frozenset({"um", "uh", "er", "erm", "hmm", "well", "so", "ok", "okay"})
# Letters of any script, and the marks names use inside: "O'Neil", "Anne-Marie", "St. John".
_NOT_NAME = re.compile(r"[^\w\s'’.-]|[\d_]")


def yes_or_no(text: str, wake_phrase: str = "assistant") -> bool | None:
    """True for "yes" (and "yeah", "yes please", ...), False for "no", None for neither."""
    answers = ActionPhrases(confirmation_answers())
    found = answers.find(hear(text, wake_words(wake_phrase)))
    return None if found is None else found == "yes"


def spoken_name(text: str) -> str | None:
    """The name in "My name is Maria Lopez." ("Maria Lopez"), or None when nothing is left.
    Words keep the recognizer's capitals, a lower-case first letter is raised."""
    name = _NAME_LEADS.sub("", text.strip())
    name = _NOT_NAME.sub(" ", name)
    words = [word.strip(".-'’") for word in name.split()]
    words = ["-".join(part[:1].upper() + part[1:] for part in w.split("-")) for w in words if w]
    if all(word.casefold() in _FILLERS for word in words):
        return None
    joined = " ".join(words)[:MAX_NAME_CHARS].strip()
    return joined or None
