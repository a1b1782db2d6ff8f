"""`telehealth intake parse|simulate` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from telehealth.intake.cli import intake_app

from .test_response_and_form import VOICE

runner = CliRunner()


def test_parse_integer() -> None:
    result = runner.invoke(intake_app, ["parse", "--type", "integer", "about a 7"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"valueInteger": 7}


def test_parse_uses_item_bounds_and_options() -> None:
    out_of_range = runner.invoke(intake_app, ["parse", "--item", "severity", "eleven"])
    assert out_of_range.exit_code == 1
    assert out_of_range.stderr.strip() == "not understood (out_of_range)"
    assert out_of_range.stdout == ""
    several = runner.invoke(intake_app, ["parse", "--item", "symptoms", "fever and a cough"])
    assert several.exit_code == 0
    assert [a["valueCoding"]["code"] for a in json.loads(several.stdout)["answer"]] == [
        "fever",
        "cough",
    ]


UCUM = "http://unitsofmeasure.org"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--type", "duration", "--now", "2025-03-05", "since Monday"],
            {"valueQuantity": {"value": 2, "unit": "days", "system": UCUM, "code": "d"}},
        ),
        (
            ["--type", "date", "--now", "2025-03-05T08:00:00+00:00", "since yesterday"],
            {"valueDate": "2025-03-04"},
        ),
        (["--type", "boolean", "not really"], {"valueBoolean": False}),
        (["--type", "text", "  a rash  "], {"valueString": "a rash"}),
        (["--type", "list", "none"], {"valueString": "none"}),
        (
            ["--type", "age", "six weeks old"],
            {"valueQuantity": {"value": 6, "unit": "weeks", "system": UCUM, "code": "wk"}},
        ),
    ],
)
def test_parse_each_type(args: list[str], expected: dict[str, object]) -> None:
    result = runner.invoke(intake_app, ["parse", *args])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == expected


def test_parse_not_understood_and_usage_errors() -> None:
    vague = runner.invoke(intake_app, ["parse", "--type", "integer", "between six and seven"])
    assert (vague.exit_code, vague.stderr.strip()) == (1, "not understood (ambiguous)")
    no_options = runner.invoke(intake_app, ["parse", "--type", "choice", "fever"])
    assert no_options.exit_code == 2 and "--item" in no_options.stderr
    unknown_item = runner.invoke(intake_app, ["parse", "--item", "visit", "x"])
    assert unknown_item.exit_code == 2 and "no question with linkId 'visit'" in unknown_item.stderr
    bad_now = runner.invoke(intake_app, ["parse", "--type", "duration", "--now", "soon", "3 days"])
    assert bad_now.exit_code == 2 and "--now 'soon'" in bad_now.stderr


def test_simulate_whole_intake() -> None:
    result = runner.invoke(
        intake_app,
        ["simulate", "--now", "2025-03-05T10:00:00+00:00"],
        input="\n".join(VOICE) + "\n",
    )
    assert result.exit_code == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["status"] == "completed"
    assert response["authored"] == "2025-03-05T10:00:00Z"
    assert "How long have you had this?" in result.stderr
    assert result.stderr.rstrip().endswith("someone will be with you soon.")


def test_simulate_reports_urgent_and_unfinished_input() -> None:
    result = runner.invoke(
        intake_app,
        ["simulate", "--now", "2025-03-05", "--emergency-number", "112"],
        input="I want to kill myself\nyes\n",
    )
    assert result.exit_code == 1
    assert "[urgent: Thoughts of self-harm or suicide]" in result.stderr
    assert "please call 112 now" in result.stderr
    assert "input ended before the intake was complete" in result.stderr
    assert json.loads(result.stdout)["status"] == "in-progress"


def test_simulate_refuses_an_invalid_questionnaire(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text('{"resourceType": "Questionnaire", "status": "active", "item": []}', "utf-8")
    result = runner.invoke(intake_app, ["simulate", "--questionnaire", str(path)], input="")
    assert result.exit_code == 2
    assert "questionnaire has no url" in result.stderr
