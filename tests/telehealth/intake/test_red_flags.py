"""Every red-flag rule fires on the answers it is about, and not on near misses."""

from __future__ import annotations

from pathlib import Path

import pytest

from telehealth.intake.answers import Answered, ItemAnswer, Parsed
from telehealth.intake.errors import InvalidRedFlagRules
from telehealth.intake.parsers import parse_answer
from telehealth.intake.questionnaire import IntakeQuestionnaire
from telehealth.intake.red_flags import (
    RedFlagChecker,
    load_red_flag_rules,
    red_flag_rules_from_dict,
)

from .conftest import NOW


@pytest.fixture(scope="module")
def checker(questionnaire: IntakeQuestionnaire) -> RedFlagChecker:
    return RedFlagChecker(load_red_flag_rules(), questionnaire)


def answers(questionnaire: IntakeQuestionnaire, **replies: str) -> dict[str, ItemAnswer]:
    """Answers as the dialogue stores them, from replies keyed by linkId (- as _)."""
    built: dict[str, ItemAnswer] = {}
    for key, text in replies.items():
        result = parse_answer(questionnaire.item(key.replace("_", "-")), text, NOW)
        assert isinstance(result, Parsed), (key, text, result)
        built[key.replace("_", "-")] = Answered(result.values, result.spoken, text)
    return built


def flag_ids(
    checker: RedFlagChecker, given: dict[str, ItemAnswer], extra: frozenset[str] = frozenset()
) -> list[str]:
    return [flag.id for flag in checker.evaluate(given, extra)]


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        ({"symptoms": "chest pain and shortness of breath"}, ["chest-pain-with-breathlessness"]),
        (
            {"symptoms": "chest pain", "reason": "I can't catch my breath"},
            ["chest-pain-with-breathlessness"],
        ),
        ({"reason": "crushing chest pain and I'm gasping"}, ["chest-pain-with-breathlessness"]),
        ({"symptoms": "face drooping"}, ["stroke-signs"]),
        ({"symptoms": "arm weakness"}, ["stroke-signs"]),
        ({"symptoms": "slurred speech"}, ["stroke-signs"]),
        ({"reason": "my husband's face is drooping on one side"}, ["stroke-signs"]),
        ({"reason": "I cut my hand and it won't stop bleeding"}, ["severe-bleeding"]),
        ({"symptoms": "heavy bleeding"}, ["severe-bleeding"]),
        ({"reason": "I want to kill myself"}, ["self-harm"]),
        ({"reason": "I have been thinking about suicide"}, ["self-harm"]),
        ({"severity": "nine"}, ["severity-9-or-10"]),
        ({"severity": "10"}, ["severity-9-or-10"]),
        ({"age": "six weeks old", "symptoms": "fever"}, ["infant-fever"]),
        ({"age": "2 months", "reason": "she has a high temperature"}, ["infant-fever"]),
    ],
)
def test_rule_fires(
    questionnaire: IntakeQuestionnaire,
    checker: RedFlagChecker,
    replies: dict[str, str],
    expected: list[str],
) -> None:
    assert flag_ids(checker, answers(questionnaire, **replies)) == expected


@pytest.mark.parametrize(
    "replies",
    [
        {"symptoms": "chest pain"},
        {"symptoms": "shortness of breath", "reason": "no chest pain"},
        {"reason": "a cough, no chest pain and no trouble breathing"},
        {"symptoms": "bleeding"},
        {"severity": "eight"},
        {"age": "three months", "symptoms": "fever"},
        {"age": "six weeks", "symptoms": "cough"},
        {"age": "40", "symptoms": "fever"},
        {"reason": "my face is not drooping"},
        {"conditions": "I had a stroke years ago"},
        {"reason": "sore throat"},
    ],
)
def test_rule_does_not_fire(
    questionnaire: IntakeQuestionnaire, checker: RedFlagChecker, replies: dict[str, str]
) -> None:
    assert flag_ids(checker, answers(questionnaire, **replies)) == []


def test_self_harm_is_heard_in_any_reply_and_not_negated(checker: RedFlagChecker) -> None:
    assert checker.reply_findings("seven. honestly I just want to die") == {"self-harm"}
    assert checker.reply_findings("I'm not suicidal") == {"self-harm"}
    assert checker.reply_findings("about three days") == frozenset()
    assert flag_ids(checker, {}, checker.reply_findings("I want to end my life")) == ["self-harm"]


def test_several_flags_in_rule_order(
    questionnaire: IntakeQuestionnaire, checker: RedFlagChecker
) -> None:
    given = answers(
        questionnaire, severity="10", symptoms="chest pain, can't breathe, slurred speech"
    )
    assert flag_ids(checker, given) == [
        "chest-pain-with-breathlessness",
        "stroke-signs",
        "severity-9-or-10",
    ]


def test_rules_this_questionnaire_cannot_fire_are_reported(
    questionnaire: IntakeQuestionnaire,
) -> None:
    rules = red_flag_rules_from_dict(
        {
            "rules": [
                {
                    "id": "preg",
                    "title": "Pregnant",
                    "advice": "emergency",
                    "any": [{"finding": "x"}],
                }
            ]
        }
    )
    assert RedFlagChecker(rules, questionnaire).unusable_rules() == ("preg",)
    assert RedFlagChecker(load_red_flag_rules(), questionnaire).unusable_rules() == ()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({}, "'rules' list"),
        (
            {"rules": [{"title": "x", "advice": "emergency", "any": [{"finding": "a"}]}]},
            "needs an id",
        ),
        (
            {"rules": [{"id": "a", "title": "x", "advice": "panic", "any": [{"finding": "a"}]}]},
            "advice",
        ),
        ({"rules": [{"id": "a", "title": "x", "advice": "crisis"}]}, "exactly one of"),
        ({"rules": [{"id": "a", "title": "x", "advice": "crisis", "any": []}]}, "at least one"),
        (
            {
                "rules": [
                    {
                        "id": "a",
                        "title": "x",
                        "advice": "crisis",
                        "any": [{"item": "s", "operator": "~", "valueInteger": 1}],
                    }
                ]
            },
            "operator",
        ),
        (
            {
                "rules": [
                    {
                        "id": "a",
                        "title": "x",
                        "advice": "crisis",
                        "any": [{"item": "s", "operator": ">"}],
                    }
                ]
            },
            "valueInteger or valueQuantity",
        ),
        ({"rules": [], "phrases": {"x": {"phrases": "kill"}}}, "list of non-empty strings"),
        (
            {
                "rules": [{"id": "a", "title": "x", "advice": "crisis", "any": [{"finding": "a"}]}]
                * 2
            },
            "share an id",
        ),
    ],
)
def test_invalid_rule_table_is_refused(table: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidRedFlagRules, match=message):
        red_flag_rules_from_dict(table)


def test_rule_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidRedFlagRules, match="cannot read"):
        load_red_flag_rules(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[", encoding="utf-8")
    with pytest.raises(InvalidRedFlagRules, match="not JSON"):
        load_red_flag_rules(bad)
