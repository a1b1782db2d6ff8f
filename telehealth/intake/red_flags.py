"""Red flags: data rules that mark an intake urgent, checked after every answer.

The rules live in `red_flag_rules.json` (or a file the operator names). A rule fires when
its conditions hold on the enabled, confirmed answers plus findings: the codes of chosen
options and phrases found in free-text and choice replies (with negation, except where the
table says otherwise). Phrases marked `every_reply` (thoughts of self-harm) are looked for
in every reply, whatever was asked, and count at once, before any confirmation.

A flag, once raised, stays raised for the rest of the intake: the dialogue never
withdraws a warning; the clinician decides.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from telehealth.intake.answers import Answered, ItemAnswer
from telehealth.intake.enable_when import condition_holds, enabled_answers
from telehealth.intake.errors import InvalidRedFlagRules
from telehealth.intake.mentions import Lexicon, find_mentions
from telehealth.intake.parse_choice import option_phrases
from telehealth.intake.questionnaire import EnableCondition, IntakeQuestionnaire

Advice = Literal["emergency", "crisis"]
DEFAULT_RULES = "red_flag_rules.json"
_ITEM_OPERATORS = frozenset({"=", "!=", ">", "<", ">=", "<="})
_ITEM_VALUE_KEYS = {"valueInteger": "answerInteger", "valueQuantity": "answerQuantity"}
_SCANNED_PARSERS = frozenset({"text", "choice"})


@dataclass(frozen=True, slots=True)
class RedFlag:
    """A raised red flag: what the clinician sees, and which advice the patient hears."""

    id: str
    title: str
    advice: Advice


@dataclass(frozen=True, slots=True)
class _Condition:
    finding: str | None
    item: EnableCondition | None


@dataclass(frozen=True, slots=True)
class RedFlagRule:
    """One rule: `flag` fires when all (or any) `conditions` hold."""

    flag: RedFlag
    require_all: bool
    conditions: tuple[_Condition, ...]


@dataclass(frozen=True, slots=True)
class PhraseGroup:
    """Free-text phrases that stand for a finding."""

    finding: str
    phrases: tuple[str, ...]
    negatable: bool
    every_reply: bool


@dataclass(frozen=True, slots=True)
class RedFlagRules:
    """The parsed rule table."""

    rules: tuple[RedFlagRule, ...]
    phrase_groups: tuple[PhraseGroup, ...]


def load_red_flag_rules(path: str | Path | None = None) -> RedFlagRules:
    """Read and check a rule table; the packaged default when `path` is None."""
    try:
        if path is None:
            text = resources.files("telehealth.intake").joinpath(DEFAULT_RULES).read_text("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise InvalidRedFlagRules(f"cannot read red-flag rules {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise InvalidRedFlagRules(f"red-flag rules are not JSON: {exc.msg}") from exc
    return red_flag_rules_from_dict(data)


def red_flag_rules_from_dict(data: Any) -> RedFlagRules:
    """Check a rule table given as parsed JSON."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise InvalidRedFlagRules("red-flag rules need a 'rules' list")
    groups = tuple(_phrase_group(name, raw) for name, raw in data.get("phrases", {}).items())
    rules = tuple(_rule(raw) for raw in data["rules"])
    ids = [rule.flag.id for rule in rules]
    if len(ids) != len(set(ids)):
        raise InvalidRedFlagRules("two red-flag rules share an id")
    return RedFlagRules(rules, groups)


def _phrase_group(name: str, raw: Any) -> PhraseGroup:
    phrases = raw.get("phrases") if isinstance(raw, dict) else None
    if not isinstance(phrases, list) or not all(isinstance(p, str) and p for p in phrases):
        raise InvalidRedFlagRules(f"phrases {name!r}: needs a list of non-empty strings")
    return PhraseGroup(
        name, tuple(phrases), bool(raw.get("negatable", True)), bool(raw.get("every_reply"))
    )


def _rule(raw: Any) -> RedFlagRule:
    if not isinstance(raw, dict) or not raw.get("id") or not raw.get("title"):
        raise InvalidRedFlagRules(f"red-flag rule {raw!r}: needs an id and a title")
    where = f"red-flag rule {raw['id']!r}"
    if raw.get("advice") not in ("emergency", "crisis"):
        raise InvalidRedFlagRules(f"{where}: advice must be 'emergency' or 'crisis'")
    if ("all" in raw) == ("any" in raw):
        raise InvalidRedFlagRules(f"{where}: give exactly one of 'all' or 'any'")
    conditions = raw.get("all", raw.get("any"))
    if not isinstance(conditions, list) or not conditions:
        raise InvalidRedFlagRules(f"{where}: needs at least one condition")
    flag = RedFlag(raw["id"], raw["title"], raw["advice"])
    return RedFlagRule(flag, "all" in raw, tuple(_condition(c, where) for c in conditions))


def _condition(raw: Any, where: str) -> _Condition:
    if isinstance(raw, dict) and isinstance(raw.get("finding"), str):
        return _Condition(raw["finding"], None)
    if not isinstance(raw, dict) or not isinstance(raw.get("item"), str):
        raise InvalidRedFlagRules(f"{where}: a condition needs 'finding' or 'item'")
    if raw.get("operator") not in _ITEM_OPERATORS:
        raise InvalidRedFlagRules(f"{where}: operator {raw.get('operator')!r} is not allowed")
    keys = [k for k in _ITEM_VALUE_KEYS if k in raw]
    if len(keys) != 1:
        raise InvalidRedFlagRules(f"{where}: give one of valueInteger or valueQuantity")
    answer_key = _ITEM_VALUE_KEYS[keys[0]]
    return _Condition(None, EnableCondition(raw["item"], raw["operator"], answer_key, raw[keys[0]]))


class RedFlagChecker:
    """Evaluates a rule table against one questionnaire's answers."""

    def __init__(self, rules: RedFlagRules, questionnaire: IntakeQuestionnaire) -> None:
        self._rules = rules
        self._questionnaire = questionnaire
        option_words: dict[str, list[str]] = {}
        for item in questionnaire.questions():
            for option in item.options:
                if not option.exclusive:
                    option_words.setdefault(option.code, []).extend(option_phrases(option))
        for group in rules.phrase_groups:
            if group.negatable:  # added to, not instead of, the options' own words
                option_words.setdefault(group.finding, []).extend(group.phrases)
        self._negatable = Lexicon.build(option_words)
        self._always = Lexicon.build(
            {g.finding: g.phrases for g in rules.phrase_groups if not g.negatable}
        )
        self._every_reply = Lexicon.build(
            {g.finding: g.phrases for g in rules.phrase_groups if g.every_reply}
        )

    def reply_findings(self, text: str) -> frozenset[str]:
        """Findings that count as soon as they are said, in any reply."""
        return frozenset(m.key for m in find_mentions(text, self._every_reply))

    def findings(self, answers: Mapping[str, ItemAnswer]) -> frozenset[str]:
        """Findings in the enabled answers: chosen codes and phrases in the replies."""
        found: set[str] = set()
        for link_id, answer in enabled_answers(self._questionnaire, answers).items():
            if not isinstance(answer, Answered):
                continue
            found.update(v["valueCoding"]["code"] for v in answer.values if "valueCoding" in v)
            if self._questionnaire.item(link_id).parser in _SCANNED_PARSERS:
                found.update(self.text_findings(answer.source_text))
        return frozenset(found)

    def text_findings(self, text: str) -> frozenset[str]:
        """Findings in a piece of free text, ignoring negated mentions where allowed."""
        negatable = {m.key for m in find_mentions(text, self._negatable) if not m.negated}
        return frozenset(negatable | {m.key for m in find_mentions(text, self._always)})

    def evaluate(
        self, answers: Mapping[str, ItemAnswer], extra_findings: Iterable[str] = ()
    ) -> tuple[RedFlag, ...]:
        """The flags whose rules hold, in rule-table order."""
        findings = self.findings(answers) | frozenset(extra_findings)
        enabled = enabled_answers(self._questionnaire, answers)
        return tuple(
            rule.flag
            for rule in self._rules.rules
            if (all if rule.require_all else any)(
                self._holds(c, findings, enabled) for c in rule.conditions
            )
        )

    def unusable_rules(self) -> tuple[str, ...]:
        """Ids of rules naming an item or finding this questionnaire cannot produce."""
        known_items = {item.link_id for item in self._questionnaire.questions()}
        known_findings = self._negatable.keys() | self._always.keys()
        return tuple(
            rule.flag.id
            for rule in self._rules.rules
            if any(
                (c.item is not None and c.item.question not in known_items)
                or (c.finding is not None and c.finding not in known_findings)
                for c in rule.conditions
            )
        )

    @staticmethod
    def _holds(
        condition: _Condition, findings: frozenset[str], enabled: Mapping[str, ItemAnswer]
    ) -> bool:
        if condition.finding is not None:
            return condition.finding in findings
        assert condition.item is not None
        answer = enabled.get(condition.item.question)
        values = answer.values if isinstance(answer, Answered) else ()
        return condition_holds(condition.item, values)
