"""FHIR QuestionnaireResponse building, and the form path giving the same result as voice."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from telehealth.intake.answers import Absent, Answered, ItemAnswer
from telehealth.intake.dialogue import IntakeDialogue
from telehealth.intake.errors import InvalidFormAnswers
from telehealth.intake.form import answers_from_form
from telehealth.intake.questionnaire import IntakeQuestionnaire, questionnaire_from_dict
from telehealth.intake.red_flags import RedFlag
from telehealth.intake.response import to_questionnaire_response
from telehealth.intake.summary import clinician_summary

from .conftest import NOW

VOICE = [
    "I have a sore throat", "yes",
    "since Monday", "yes",
    "seven out of ten", "yes",
    "fever and a cough", "yes",
    "34", "yes",
    "female", "yes",
    "no",
    "asthma", "yes",
    "ibuprofen and metformin", "yes",
    "I don't know",
    "yes",
]  # fmt: skip
FORM: dict[str, str | list[str]] = {
    "reason": "I have a sore throat",
    "onset": "since Monday",
    "severity": "7",
    "symptoms": ["cough", "Fever"],
    "age": "34",
    "sex-at-birth": "female",
    "pregnant": "no",
    "conditions": "asthma",
    "medications": ["ibuprofen", "metformin"],
    "allergies": "I don't know",
}


def test_form_and_voice_give_identical_responses(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = IntakeDialogue(questionnaire, NOW)
    dialogue.start()
    for text in VOICE:
        turn = dialogue.reply(text)
    assert turn.done
    voice = dialogue.questionnaire_response()
    form_answers = answers_from_form(questionnaire, FORM, now=NOW)
    form = to_questionnaire_response(questionnaire, form_answers, status="completed", authored=NOW)
    assert form == voice
    by_id = {i["linkId"]: i for group in voice["item"] for i in group["item"]}
    assert by_id["onset"]["answer"] == [
        {
            "valueQuantity": {
                "value": 2,
                "unit": "days",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            }
        }
    ]
    assert [a["valueCoding"]["code"] for a in by_id["symptoms"]["answer"]] == ["fever", "cough"]
    assert by_id["allergies"]["extension"] == [
        {
            "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
            "valueCode": "asked-unknown",
        }
    ]


def test_response_is_valid_fhir_and_nested_like_the_questionnaire(
    questionnaire: IntakeQuestionnaire,
) -> None:
    answers = answers_from_form(
        questionnaire, {"reason": "cough", "allergies": "penicillin"}, now=NOW
    )
    response = to_questionnaire_response(
        questionnaire, answers, status="in-progress", authored=NOW, response_id="r1"
    )
    QuestionnaireResponse.model_validate(response)
    assert response == {
        "resourceType": "QuestionnaireResponse",
        "id": "r1",
        "questionnaire": "urn:telehealth-assistant:questionnaire:symptom-intake|1.0.0",
        "status": "in-progress",
        "authored": "2025-03-05T10:00:00Z",
        "item": [
            {
                "linkId": "visit",
                "text": "About your visit",
                "item": [
                    {
                        "linkId": "reason",
                        "text": questionnaire.item("reason").text,
                        "answer": [{"valueString": "cough"}],
                    }
                ],
            },
            {
                "linkId": "history",
                "text": "Your health",
                "item": [
                    {
                        "linkId": "allergies",
                        "text": questionnaire.item("allergies").text,
                        "answer": [{"valueString": "penicillin"}],
                    }
                ],
            },
        ],
    }


def test_nested_groups() -> None:
    q = questionnaire_from_dict(
        {
            "resourceType": "Questionnaire",
            "url": "urn:test:nested",
            "version": "2",
            "status": "active",
            "item": [
                {
                    "linkId": "outer",
                    "type": "group",
                    "item": [
                        {
                            "linkId": "inner",
                            "type": "group",
                            "text": "Inner",
                            "item": [{"linkId": "n", "type": "integer", "text": "How many?"}],
                        },
                        {"linkId": "unused", "type": "boolean", "text": "Unused?"},
                    ],
                }
            ],
        }
    )
    answers: dict[str, ItemAnswer] = {"n": Answered(({"valueInteger": 3},), "3", "three")}
    response = to_questionnaire_response(q, answers, status="completed", authored=NOW)
    assert response["questionnaire"] == "urn:test:nested|2"
    assert response["item"] == [
        {
            "linkId": "outer",
            "item": [
                {
                    "linkId": "inner",
                    "text": "Inner",
                    "item": [{"linkId": "n", "text": "How many?", "answer": [{"valueInteger": 3}]}],
                }
            ],
        }
    ]


def test_disabled_answers_are_left_out(questionnaire: IntakeQuestionnaire) -> None:
    fields: dict[str, str | list[str]] = {
        "reason": "cough",
        "age": "30",
        "sex-at-birth": "male",
        "pregnant": "yes",  # hidden on the form for this patient: ignored
    }
    answers = answers_from_form(questionnaire, fields, now=NOW)
    assert "pregnant" not in answers
    response = to_questionnaire_response(questionnaire, answers, status="completed", authored=NOW)
    link_ids = [i["linkId"] for group in response["item"] for i in group["item"]]
    assert link_ids == ["reason", "age", "sex-at-birth"]


def test_form_errors_name_each_field(questionnaire: IntakeQuestionnaire) -> None:
    fields: dict[str, str | list[str]] = {
        "reason": "",
        "severity": "between six and seven",
        "onset": "ages",
        "symptoms": ["fever", "none"],
        "age": "200",
        "shoe-size": "42",
        "allergies": ["penicillin", "none"],
    }
    with pytest.raises(InvalidFormAnswers) as caught:
        answers_from_form(questionnaire, fields, now=NOW)
    assert caught.value.errors == {
        "reason": "Please answer this question.",
        "severity": "Please give one clear answer.",
        "onset": "Please give one clear answer.",
        "symptoms": "Please give one clear answer.",
        "age": "This value is outside the allowed range.",
        "shoe-size": "This field is not part of the questionnaire.",
        "allergies": "Please give one clear answer.",
    }
    assert "severity" in str(caught.value)


def test_form_skip_and_required(questionnaire: IntakeQuestionnaire) -> None:
    answers = answers_from_form(questionnaire, {"reason": "cough", "severity": "skip"}, now=NOW)
    assert answers["severity"] == Absent("asked-declined")
    with pytest.raises(InvalidFormAnswers) as caught:
        answers_from_form(questionnaire, {"reason": "I don't know"}, now=NOW)
    assert caught.value.errors == {"reason": "Please answer this question."}


def test_clinician_summary_puts_flags_first(questionnaire: IntakeQuestionnaire) -> None:
    answers = answers_from_form(
        questionnaire, {"reason": "chest pain", "severity": "9", "onset": "skip"}, now=NOW
    )
    flag = RedFlag("severity-9-or-10", "Severity 9 or 10 out of 10", "emergency")
    summary = clinician_summary(questionnaire, answers, [flag])
    assert summary.as_text() == (
        "URGENT: Severity 9 or 10 out of 10\n"
        "Reason for visit: chest pain\n"
        "How long: skipped\n"
        "Severity: 9 out of 10"
    )
    data: dict[str, Any] = summary.to_dict()
    assert data["urgent"] is True
    assert data["flags"] == [
        {"id": "severity-9-or-10", "title": "Severity 9 or 10 out of 10", "advice": "emergency"}
    ]
    assert data["lines"][0] == {
        "linkId": "reason",
        "label": "Reason for visit",
        "text": "chest pain",
    }


def test_authored_must_be_timezone_aware(questionnaire: IntakeQuestionnaire) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_questionnaire_response(
            questionnaire, {}, status="in-progress", authored=NOW.replace(tzinfo=None)
        )
