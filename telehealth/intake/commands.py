"""What a patient can say at any point instead of an answer: repeat, skip, go back, ..."""

from __future__ import annotations

from typing import Literal

from telehealth.intake.words import normalize

Command = Literal["repeat", "skip", "back", "dont_know", "help"]

_PHRASES: dict[Command, frozenset[str]] = {
    "repeat": frozenset(
        {
            "repeat",
            "repeat that",
            "repeat it",
            "repeat the question",
            "say that again",
            "say it again",
            "again",
            "pardon",
            "pardon me",
            "what",
            "what was that",
            "what was the question",
            "come again",
            "i didn't hear",
            "i didn't hear that",
            "i didn't catch that",
            "one more time",
        }
    ),
    "skip": frozenset(
        {
            "skip",
            "skip it",
            "skip this",
            "skip that",
            "skip this one",
            "skip this question",
            "skip the question",
            "next",
            "next question",
            "pass",
            "i'd rather not answer",
            "i don't want to answer",
            "i don't want to answer that",
        }
    ),
    "back": frozenset(
        {
            "back",
            "go back",
            "go back one",
            "previous",
            "previous question",
            "the previous question",
            "last question",
            "undo",
        }
    ),
    "dont_know": frozenset(
        {
            "i don't know",
            "don't know",
            "i do not know",
            "dunno",
            "i dunno",
            "no idea",
            "i have no idea",
            "not sure",
            "i'm not sure",
            "i am not sure",
            "unsure",
            "i can't remember",
            "i don't remember",
            "i'm not certain",
        }
    ),
    "help": frozenset(
        {
            "help",
            "help me",
            "what can i say",
            "what do i say",
            "what should i say",
            "i don't understand",
            "i don't understand the question",
            "options",
            "what are my options",
            "how does this work",
        }
    ),
}
_POLITE_LEADS = ("please ", "sorry ", "can you ", "could you ", "um ", "uh ", "oh ", "ok ", "okay ")
_POLITE_TAILS = (" please", " thanks", " thank you")


def command_in(text: str) -> Command | None:
    """The command `text` is, if the whole reply is one ("could you repeat that please")."""
    norm = normalize(text)
    changed = True
    while changed:
        changed = False
        for lead in _POLITE_LEADS:
            if norm.startswith(lead):
                norm, changed = norm[len(lead) :], True
        for tail in _POLITE_TAILS:
            if norm.endswith(tail):
                norm, changed = norm[: -len(tail)], True
    for command, phrases in _PHRASES.items():
        if norm in phrases:
            return command
    return None


def command_phrases() -> tuple[str, ...]:
    """Phrases for every command, for a recognizer's phrase list."""
    return tuple(sorted({p for phrases in _PHRASES.values() for p in phrases}))
