"""Table tests: choices with synonyms and negation, lists of names, free text."""

from __future__ import annotations

import pytest

from telehealth.intake.answers import NotUnderstood, Parsed
from telehealth.intake.parse_basic import parse_list, parse_text
from telehealth.intake.parse_choice import parse_choice, parse_choice_values
from telehealth.intake.questionnaire import IntakeQuestionnaire


def codes(result: object) -> list[str]:
    assert isinstance(result, Parsed), result
    return [value["valueCoding"]["code"] for value in result.values]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fever", ["fever"]),
        ("Fever.", ["fever"]),
        ("I have a fever", ["fever"]),
        ("a high temperature", ["fever"]),
        ("fever and a cough", ["fever", "cough"]),
        ("a cough and a fever", ["fever", "cough"]),
        ("short of breath", ["shortness-of-breath"]),
        ("shortness of breath", ["shortness-of-breath"]),
        ("I can't breathe", ["shortness-of-breath"]),
        ("I cant breathe", ["shortness-of-breath"]),
        ("breathless", ["shortness-of-breath"]),
        ("trouble breathing", ["shortness-of-breath"]),
        ("no, I can't breathe", ["shortness-of-breath"]),
        ("chest pain and I can't breathe", ["shortness-of-breath", "chest-pain"]),
        ("pain in my chest", ["chest-pain"]),
        ("headache, rash, nausea", ["nausea", "headache", "rash"]),
        ("I feel dizzy and lightheaded", ["dizziness"]),
        ("my head hurts", ["headache"]),
        ("a cough but no fever", ["cough"]),
        ("I have a headache and no rash", ["headache"]),
        ("I don't have a fever but I have a cough", ["cough"]),
        ("my face is drooping and my speech is slurred", ["face-drooping", "slurred-speech"]),
        ("arm weakness", ["arm-weakness"]),
        ("bleeding", ["bleeding"]),
        ("none", ["none"]),
        ("no", ["none"]),
        ("nope", ["none"]),
        ("none of these", ["none"]),
        ("I don't have any of these", ["none"]),
        ("shortness-of-breath", ["shortness-of-breath"]),
    ],
)
def test_symptoms_understood(
    questionnaire: IntakeQuestionnaire, text: str, expected: list[str]
) -> None:
    item = questionnaire.item("symptoms")
    assert codes(parse_choice(text, item.options, item.repeats)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "no fever",
        "I don't have a fever or a cough",
        "maybe a fever",
        "I might have a rash",
        "not sure about a fever",
        "fever and none",
        "purple elephants",
        "my blood pressure",
        "",
        "yes",
    ],
)
def test_symptoms_not_understood(questionnaire: IntakeQuestionnaire, text: str) -> None:
    item = questionnaire.item("symptoms")
    assert isinstance(parse_choice(text, item.options, item.repeats), NotUnderstood)


def test_choice_answer_is_the_questionnaire_coding(questionnaire: IntakeQuestionnaire) -> None:
    item = questionnaire.item("symptoms")
    result = parse_choice("can't catch my breath", item.options, item.repeats)
    assert result == Parsed(
        (
            {
                "valueCoding": {
                    "code": "shortness-of-breath",
                    "display": "Shortness of breath",
                    "system": "urn:telehealth-assistant:codesystem:intake-symptom",
                }
            },
        ),
        "shortness of breath",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("female", ["female"]),
        ("Male", ["male"]),
        ("intersex", ["intersex"]),
        ("I'd rather not say", ["prefer-not-to-say"]),
        ("prefer not to say", ["prefer-not-to-say"]),
    ],
)
def test_single_choice_understood(
    questionnaire: IntakeQuestionnaire, text: str, expected: list[str]
) -> None:
    item = questionnaire.item("sex-at-birth")
    assert codes(parse_choice(text, item.options, item.repeats)) == expected


@pytest.mark.parametrize("text", ["female and male", "woman", "not female"])
def test_single_choice_not_understood(questionnaire: IntakeQuestionnaire, text: str) -> None:
    item = questionnaire.item("sex-at-birth")
    assert isinstance(parse_choice(text, item.options, item.repeats), NotUnderstood)


def test_form_choice_values_by_code_or_display(questionnaire: IntakeQuestionnaire) -> None:
    item = questionnaire.item("symptoms")
    result = parse_choice_values(["cough", "Fever"], item.options, repeats=True)
    assert codes(result) == ["fever", "cough"]
    mixed = parse_choice_values(["none", "fever"], item.options, repeats=True)
    assert isinstance(mixed, NotUnderstood)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ibuprofen and metformin", ["ibuprofen", "metformin"]),
        ("Ibuprofen, metformin and aspirin.", ["Ibuprofen", "metformin", "aspirin"]),
        (
            "I take aspirin, lisinopril and metformin 500 mg",
            ["aspirin", "lisinopril", "metformin 500 mg"],
        ),
        ("I'm allergic to peanuts and penicillin", ["peanuts", "penicillin"]),
        ("penicillin", ["penicillin"]),
        ("just salbutamol", ["salbutamol"]),
        ("Lisinopril & amlodipine; also vitamin D", ["Lisinopril", "amlodipine", "vitamin D"]),
        ("the pill", ["the pill"]),
        ("asthma plus diabetes", ["asthma", "diabetes"]),
        ("ibuprofen and ibuprofen", ["ibuprofen"]),
        ("none", ["none"]),
        ("None.", ["none"]),
        ("nothing", ["none"]),
        ("no known allergies", ["none"]),
        ("No allergies", ["none"]),
        ("I don't take any", ["none"]),
        ("not that I know of", ["none"]),
    ],
)
def test_list_understood(text: str, expected: list[str]) -> None:
    result = parse_list(text)
    assert isinstance(result, Parsed)
    assert [value["valueString"] for value in result.values] == expected


@pytest.mark.parametrize("text", ["", "um", "yes", "aspirin and none", "some", "   "])
def test_list_not_understood(text: str) -> None:
    assert isinstance(parse_list(text), NotUnderstood)


@pytest.mark.parametrize(
    "text",
    ["I have a sore throat", "  Follow-up for my blood pressure, please.  ", "Rash on my arm!"],
)
def test_text_kept_verbatim(text: str) -> None:
    assert parse_text(text) == Parsed(({"valueString": text.strip()},), text.strip())


@pytest.mark.parametrize("text", ["", "   ", "um", "uh, er", "x" * 2001])
def test_text_not_understood(text: str) -> None:
    assert isinstance(parse_text(text), NotUnderstood)
