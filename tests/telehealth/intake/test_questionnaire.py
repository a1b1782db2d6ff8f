"""The questionnaire is data: the default loads, broken ones are refused with a clear reason."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from telehealth.intake.answers import Absent, Answered, ItemAnswer
from telehealth.intake.enable_when import enabled_answers, is_enabled
from telehealth.intake.errors import InvalidQuestionnaire
from telehealth.intake.parse_time import quantity
from telehealth.intake.questionnaire import (
    IntakeQuestionnaire,
    load_questionnaire,
    questionnaire_from_dict,
)

SEX = "urn:telehealth-assistant:codesystem:sex-assigned-at-birth"


def test_default_questionnaire_items_and_parsers(questionnaire: IntakeQuestionnaire) -> None:
    parsers = {item.link_id: item.parser for item in questionnaire.questions()}
    assert parsers == {
        "reason": "text",
        "onset": "duration",
        "severity": "integer",
        "symptoms": "choice",
        "age": "age",
        "sex-at-birth": "choice",
        "pregnant": "boolean",
        "conditions": "list",
        "medications": "list",
        "allergies": "list",
    }
    severity = questionnaire.item("severity")
    assert (severity.min_value, severity.max_value) == (0, 10)
    assert severity.example == "Please say one number, for example: seven."
    assert questionnaire.item("reason").required
    assert questionnaire.canonical == "urn:telehealth-assistant:questionnaire:symptom-intake|1.0.0"
    symptoms = {o.code for o in questionnaire.item("symptoms").options}
    assert {"fever", "chest-pain", "face-drooping", "arm-weakness", "slurred-speech"} <= symptoms
    assert [o.code for o in questionnaire.item("symptoms").options if o.exclusive] == ["none"]


def test_custom_path_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text(json.dumps(_minimal()), encoding="utf-8")
    loaded = load_questionnaire(path)
    assert [item.link_id for item in loaded.questions()] == ["q1"]
    assert loaded.canonical == "urn:test:q"


def _minimal() -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire",
        "url": "urn:test:q",
        "status": "active",
        "item": [{"linkId": "q1", "type": "integer", "text": "How many?"}],
    }


def _broken(change: str) -> dict[str, Any]:
    data = _minimal()
    item = data["item"][0]
    if change == "no status":
        del data["status"]
    elif change == "retired":
        data["status"] = "retired"
    elif change == "no url":
        del data["url"]
    elif change == "duplicate linkId":
        data["item"].append(dict(item))
    elif change == "attachment":
        item["type"] = "attachment"
    elif change == "unknown parser":
        item["extension"] = [
            {"url": "urn:telehealth-assistant:intake:parser", "valueCode": "magic"}
        ]
    elif change == "parser mismatch":
        item["extension"] = [
            {"url": "urn:telehealth-assistant:intake:parser", "valueCode": "duration"}
        ]
    elif change == "choice without options":
        item["type"] = "choice"
    elif change == "enableWhen forward":
        item["enableWhen"] = [{"question": "later", "operator": "exists", "answerBoolean": True}]
        data["item"].append({"linkId": "later", "type": "boolean", "text": "Later?"})
    elif change == "enableWhen wrong answer type":
        data["item"].append(
            {
                "linkId": "q2",
                "type": "boolean",
                "text": "Q2?",
                "enableWhen": [{"question": "q1", "operator": "=", "answerBoolean": True}],
            }
        )
    elif change == "enableWhen order on boolean":
        data["item"].insert(0, {"linkId": "b", "type": "boolean", "text": "B?"})
        item["enableWhen"] = [{"question": "b", "operator": ">", "answerBoolean": True}]
    elif change == "min above max":
        item["extension"] = [
            {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 5},
            {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 1},
        ]
    elif change == "two enableWhen without behavior":
        data["item"].insert(0, {"linkId": "b", "type": "boolean", "text": "B?"})
        item["enableWhen"] = [
            {"question": "b", "operator": "exists", "answerBoolean": True},
            {"question": "b", "operator": "=", "answerBoolean": True},
        ]
    elif change == "repeating integer":
        item["repeats"] = True
    elif change == "no text":
        del item["text"]
    elif change == "empty group":
        data["item"].append({"linkId": "g", "type": "group", "text": "G"})
    elif change == "not FHIR":
        item["colour"] = "blue"
    elif change == "patient":
        data["resourceType"] = "Patient"
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no status", "status"),
        ("retired", "status is 'retired'"),
        ("no url", "no url"),
        ("duplicate linkId", "item 'q1': linkId is used twice"),
        ("attachment", "type 'attachment' cannot be asked"),
        ("unknown parser", "unknown parser 'magic'"),
        ("parser mismatch", "parser 'duration' cannot answer an item of type 'integer'"),
        ("choice without options", "needs answerOption"),
        ("enableWhen forward", "not a question asked before it"),
        ("enableWhen wrong answer type", "needs answerInteger, not answerBoolean"),
        ("enableWhen order on boolean", "cannot compare boolean answers"),
        ("min above max", "minValue 5 is above maxValue 1"),
        ("two enableWhen without behavior", "enableBehavior"),
        ("repeating integer", "only choice and list items may repeat"),
        ("no text", "needs text"),
        ("empty group", "group needs at least one item"),
        ("not FHIR", "colour"),
        ("patient", "not a FHIR Questionnaire"),
    ],
)
def test_invalid_questionnaire_names_the_problem(change: str, message: str) -> None:
    with pytest.raises(InvalidQuestionnaire, match=message.replace("(", r"\(")):
        questionnaire_from_dict(_broken(change))


def test_unreadable_or_non_json_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidQuestionnaire, match="cannot read questionnaire"):
        load_questionnaire(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidQuestionnaire, match="is not JSON"):
        load_questionnaire(bad)


def test_default_file_passes_fhir_schema(questionnaire: IntakeQuestionnaire) -> None:
    # Round-trip through the loader: the stored resource is the validated one.
    again = questionnaire_from_dict(copy.deepcopy(dict(questionnaire.resource)))
    assert [i.link_id for i in again.questions()] == [i.link_id for i in questionnaire.questions()]


def _sex(code: str) -> Answered:
    coding = {"system": SEX, "code": code, "display": code.title()}
    return Answered(({"valueCoding": coding},), code, code)


def _age(value: float, unit: str) -> Answered:
    return Answered((quantity(value, unit),), "", "")


@pytest.mark.parametrize(
    ("sex", "age", "asked"),
    [
        ("female", _age(30, "a"), True),
        ("intersex", _age(30, "a"), True),
        ("prefer-not-to-say", _age(30, "a"), True),
        ("male", _age(30, "a"), False),
        ("female", _age(8, "a"), False),
        ("female", _age(70, "a"), False),
        ("female", _age(12, "a"), True),
        ("female", _age(55, "a"), True),
        ("female", _age(6, "wk"), False),
        ("female", _age(200, "mo"), True),
        ("female", None, False),
    ],
)
def test_pregnancy_asked_only_when_it_could_apply(
    questionnaire: IntakeQuestionnaire, sex: str, age: Answered | None, asked: bool
) -> None:
    answers: dict[str, ItemAnswer] = {"sex-at-birth": _sex(sex)}
    if age is not None:
        answers["age"] = age
    assert is_enabled(questionnaire, "pregnant", answers) is asked


def test_skipped_question_counts_as_no_answer(questionnaire: IntakeQuestionnaire) -> None:
    answers: dict[str, ItemAnswer] = {
        "sex-at-birth": Absent("asked-declined"),
        "age": _age(30, "a"),
    }
    assert not is_enabled(questionnaire, "pregnant", answers)


def test_answers_of_disabled_items_are_dropped(questionnaire: IntakeQuestionnaire) -> None:
    pregnant = Answered(({"valueBoolean": True},), "yes", "yes")
    answers: dict[str, ItemAnswer] = {
        "sex-at-birth": _sex("male"),
        "age": _age(30, "a"),
        "pregnant": pregnant,
    }
    assert list(enabled_answers(questionnaire, answers)) == ["age", "sex-at-birth"]
    answers["sex-at-birth"] = _sex("female")
    assert list(enabled_answers(questionnaire, answers)) == ["age", "sex-at-birth", "pregnant"]


def test_group_enable_when_disables_its_children() -> None:
    data = {
        "resourceType": "Questionnaire",
        "url": "urn:test:g",
        "status": "draft",
        "item": [
            {"linkId": "smoker", "type": "boolean", "text": "Do you smoke?"},
            {
                "linkId": "smoking",
                "type": "group",
                "enableWhen": [{"question": "smoker", "operator": "=", "answerBoolean": True}],
                "item": [{"linkId": "per-day", "type": "integer", "text": "How many a day?"}],
            },
        ],
    }
    q = questionnaire_from_dict(data)
    yes = Answered(({"valueBoolean": True},), "yes", "yes")
    no = Answered(({"valueBoolean": False},), "no", "no")
    assert is_enabled(q, "per-day", {"smoker": yes})
    assert not is_enabled(q, "per-day", {"smoker": no})
    assert q.item("per-day").ancestors == ("smoking",)
