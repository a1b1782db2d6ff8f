"""Parser for choice questions: options by name or synonym, several at once, negation aware.

"fever and a cough" gives two codings; "a cough but no fever" gives one; an exclusive
option such as "None of these" counts only when it is the whole reply ("none", "no").
Hedged mentions ("maybe a fever") are NotUnderstood: the patient is asked again rather
than having a symptom recorded that they were unsure of.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from telehealth.intake.answers import NotUnderstood, Parsed, ParseResult
from telehealth.intake.mentions import Lexicon, find_mentions
from telehealth.intake.parse_basic import join_words
from telehealth.intake.questionnaire import AnswerOption
from telehealth.intake.words import normalize, tokens

_HEDGES = frozenset({"maybe", "might", "perhaps", "possibly", "probably", "unsure"})
_LEADING_FILLER = (
    "um ",
    "uh ",
    "er ",
    "well ",
    "oh ",
    "i think ",
    "i'd say ",
    "actually ",
    "i have ",
    "i've got ",
)


def option_phrases(option: AnswerOption) -> tuple[str, ...]:
    """Every way to say `option`: its display, its code, and its synonyms."""
    return (option.display, option.code.replace("-", " "), *option.synonyms)


@lru_cache(maxsize=64)
def _lexicon(options: tuple[AnswerOption, ...]) -> Lexicon:
    return Lexicon.build({o.code: option_phrases(o) for o in options if not o.exclusive})


def parse_choice(text: str, options: Sequence[AnswerOption], repeats: bool) -> ParseResult:
    """The options named in `text` as valueCoding answers, in questionnaire order."""
    norm = normalize(text)
    if not norm:
        return NotUnderstood("empty")
    core = norm
    while core.startswith(_LEADING_FILLER):
        core = core.split(" ", 1)[1]
    for option in options:
        if option.exclusive and core in {normalize(p) for p in option_phrases(option)}:
            return _parsed([option])
    if any(tok in _HEDGES for tok in tokens(text)) or "not sure" in norm:
        return NotUnderstood("ambiguous")
    mentions = find_mentions(text, _lexicon(tuple(options)))
    named = {m.key for m in mentions if not m.negated}
    if not named:
        return NotUnderstood("no_value")
    if "none" in tokens(text):  # "fever and none": contradicts itself
        return NotUnderstood("ambiguous")
    chosen = [o for o in options if o.code in named]
    if len(chosen) > 1 and not repeats:
        return NotUnderstood("ambiguous")
    return _parsed(chosen)


def parse_choice_values(
    values: Sequence[str], options: Sequence[AnswerOption], repeats: bool
) -> ParseResult:
    """Form input: each value names exactly one option (by code, display or synonym)."""
    chosen: list[AnswerOption] = []
    for value in values:
        result = parse_choice(value, options, repeats=False)
        if isinstance(result, NotUnderstood):
            return result
        code = result.values[0]["valueCoding"]["code"]
        chosen.extend(o for o in options if o.code == code and o not in chosen)
    if not chosen:
        return NotUnderstood("empty")
    if len(chosen) > 1 and (not repeats or any(o.exclusive for o in chosen)):
        return NotUnderstood("ambiguous")
    return _parsed([o for o in options if o in chosen])


def _parsed(chosen: list[AnswerOption]) -> Parsed:
    spoken = join_words(
        [o.display.lower() if not o.exclusive else o.display.lower() for o in chosen]
    )
    return Parsed(tuple({"valueCoding": o.coding()} for o in chosen), spoken)
