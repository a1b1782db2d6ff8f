"""Scripted conversations with the intake dialogue: text in, prompts out."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from telehealth.intake import wording
from telehealth.intake.answers import Absent, Answered
from telehealth.intake.dialogue import IntakeDialogue
from telehealth.intake.questionnaire import IntakeQuestionnaire
from telehealth.intake.turn import Turn

from .conftest import NOW

HAPPY_PATH = [
    ("I have a sore throat", "I heard: I have a sore throat. Is that right?"),
    ("yes", "Thank you. How long have you had this?"),
    ("three days", "I heard 3 days. Is that right?"),
    ("yeah", "Thank you. On a scale from 0 to 10"),
    ("about a 7", "I heard 7 out of 10. Is that right?"),
    ("correct", "Thank you. Do you have any of these"),
    ("fever and a cough", "I heard fever and cough. Is that right?"),
    ("yes", "Thank you. How old are you?"),
    ("34", "I heard 34 years old. Is that right?"),
    ("yes", "Thank you. What sex were you assigned at birth"),
    ("female", "I heard female. Is that right?"),
    ("yes", "Thank you. Could you be pregnant?"),
    ("no", "Thank you. Do you have any long-term health conditions"),
    ("asthma", "I heard: asthma. Is that right?"),
    ("yes", "Thank you. Which medicines do you take"),
    ("ibuprofen and salbutamol", "I heard: ibuprofen and salbutamol. Is that right?"),
    ("yes", "Thank you. Are you allergic"),
    ("no known allergies", "I heard: none. Is that right?"),
    ("yes", "Thank you. Here is what I have. Reason for visit: I have a sore throat."),
]


def new_dialogue(
    questionnaire: IntakeQuestionnaire, emergency_number: str | None = None
) -> IntakeDialogue:
    return IntakeDialogue(questionnaire, NOW, emergency_number=emergency_number)


def run(dialogue: IntakeDialogue, replies: list[str]) -> list[Turn]:
    return [dialogue.reply(text) for text in replies]


def test_happy_path(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = new_dialogue(questionnaire)
    first = dialogue.start()
    assert first.prompt.startswith(wording.INTRO)
    assert first.prompt.endswith("what is the main reason for your visit today?")
    assert (first.stage, first.link_id, first.expects) == ("question", "reason", "free_text")
    for reply, expected in HAPPY_PATH:
        turn = dialogue.reply(reply)
        assert turn.prompt.startswith(expected), (reply, turn.prompt)
        assert not turn.urgent and not turn.offer_keyboard
    assert turn.stage == "summary"
    assert turn.prompt == (
        "Thank you. Here is what I have. Reason for visit: I have a sore throat. "
        "How long: 3 days. Severity: 7 out of 10. Other symptoms: fever and cough. "
        "Age: 34 years old. Sex assigned at birth: female. Could be pregnant: no. "
        "Health conditions: asthma. Medicines: ibuprofen and salbutamol. Allergies: none. "
        "Is all of that correct?"
    )
    assert dialogue.questionnaire_response()["status"] == "in-progress"
    done = dialogue.reply("yes")
    assert done.done and done.stage == "done" and done.prompt == wording.DONE
    response = dialogue.questionnaire_response()
    assert response["status"] == "completed"
    assert response["authored"] == "2025-03-05T10:00:00Z"
    answered = {
        item["linkId"]: item["answer"] for group in response["item"] for item in group["item"]
    }
    assert answered["severity"] == [{"valueInteger": 7}]
    assert answered["pregnant"] == [{"valueBoolean": False}]
    assert answered["medications"] == [{"valueString": "ibuprofen"}, {"valueString": "salbutamol"}]
    assert dialogue.reply("hello?").prompt == wording.ALREADY_DONE


def test_turn_tells_the_voice_side_what_to_listen_for(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = new_dialogue(questionnaire)
    assert dialogue.start().phrases == ()  # free text: no phrase list
    confirm = dialogue.reply("a rash")
    assert confirm.expects == "yes_no"
    assert {"yes", "no", "repeat", "go back", "help"} <= set(confirm.phrases)
    run(dialogue, ["yes", "two days", "yes"])
    severity = dialogue.reply("repeat")
    assert severity.expects == "integer"
    assert {"zero", "seven", "ten", "seven out of ten"} <= set(severity.phrases)
    run(dialogue, ["seven", "yes"])
    symptoms = dialogue.reply("repeat")
    assert symptoms.expects == "choice" and symptoms.link_id == "symptoms"
    assert {"fever", "short of breath", "can't breathe", "none of these", "skip"} <= set(
        symptoms.phrases
    )
    assert symptoms.to_dict()["linkId"] == "symptoms"


def test_repeat_help_skip_back_and_dont_know(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = new_dialogue(questionnaire)
    dialogue.start()
    back_at_start = dialogue.reply("go back")
    assert back_at_start.prompt.startswith(wording.FIRST_QUESTION)
    skip_required = dialogue.reply("skip")
    assert skip_required.prompt.startswith(wording.REQUIRED)
    assert skip_required.link_id == "reason"
    run(dialogue, ["a sore throat", "yes"])
    assert dialogue.reply("could you repeat that please").prompt == "How long have you had this?"
    helped = dialogue.reply("help")
    assert helped.prompt.startswith(
        "Answer in your own words. For example, you could say: three days"
    )
    unknown = dialogue.reply("I don't know")
    assert unknown.prompt.startswith(wording.UNKNOWN) and unknown.link_id == "severity"
    skipped = dialogue.reply("skip this question")
    assert skipped.prompt.startswith(wording.SKIPPED) and skipped.link_id == "symptoms"
    back = dialogue.reply("go back")
    assert back.prompt.startswith(wording.GO_BACK) and back.link_id == "severity"
    run(dialogue, ["five", "yes"])
    assert dialogue.answers["onset"] == Absent("asked-unknown")
    assert isinstance(dialogue.answers["severity"], Answered)
    # After fixing the earlier answer, the dialogue returns to where the patient was.
    assert dialogue.reply("repeat").link_id == "symptoms"
    response = dialogue.questionnaire_response()
    onset = response["item"][0]["item"][1]
    assert onset["linkId"] == "onset" and "answer" not in onset
    assert onset["extension"][0]["valueCode"] == "asked-unknown"


def test_two_failures_then_example_then_keyboard(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = new_dialogue(questionnaire)
    dialogue.start()
    run(dialogue, ["headache", "yes", "a week", "yes"])
    first = dialogue.reply("pretty bad")
    assert first.prompt.startswith("Sorry, I didn't understand that. On a scale")
    assert not first.offer_keyboard
    out_of_range = dialogue.reply("eleven")
    assert out_of_range.prompt.startswith("Let me ask again. On a scale")
    assert out_of_range.prompt.endswith("Please say one number, for example: seven.")
    assert not out_of_range.offer_keyboard
    third = dialogue.reply("between six and seven")
    assert third.offer_keyboard
    assert wording.KEYBOARD in third.prompt
    typed = dialogue.reply("6")
    assert typed.prompt == "I heard 6 out of 10. Is that right?"
    assert not typed.offer_keyboard


def test_first_failure_hint_names_the_range(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = new_dialogue(questionnaire)
    dialogue.start()
    run(dialogue, ["headache", "yes", "a week", "yes"])
    assert "Please choose a number from 0 to 10." in dialogue.reply("twelve").prompt


def test_confirmation_no_and_one_breath_correction(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = new_dialogue(questionnaire)
    dialogue.start()
    run(dialogue, ["headache", "yes", "a week", "yes", "five"])
    corrected = dialogue.reply("no, eight")
    assert corrected.prompt == "I heard 8 out of 10. Is that right?"
    retry = dialogue.reply("no")
    assert retry.prompt.startswith(wording.TRY_AGAIN) and retry.stage == "question"
    again = dialogue.reply("nine")
    unclear = dialogue.reply("banana")
    assert unclear.prompt.startswith(wording.SAY_YES_OR_NO)
    assert again.stage == unclear.stage == "confirm"
    said_again = dialogue.reply("seven")  # a plain new number replaces the candidate
    assert said_again.prompt == "I heard 7 out of 10. Is that right?"
    dialogue.reply("yes")
    assert dialogue.answers["severity"] == Answered(({"valueInteger": 7},), "7 out of 10", "seven")


def test_red_flag_mid_dialogue(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = new_dialogue(questionnaire, emergency_number="112")
    dialogue.start()
    run(dialogue, ["feeling awful", "yes", "since this morning", "yes", "six", "yes"])
    heard = dialogue.reply("chest pain and I can't breathe")
    assert not heard.urgent  # not before the patient confirms what was heard
    flagged = dialogue.reply("yes")
    assert [f.id for f in flagged.new_flags] == ["chest-pain-with-breathlessness"]
    assert flagged.urgent and dialogue.urgent
    assert flagged.prompt.startswith(
        "What you told me could be a sign of an emergency. Please call 112 now."
    )
    assert flagged.prompt.endswith(
        "How old are you? If this visit is for a baby, say the age in weeks or months."
    )
    later = dialogue.reply("fifty")
    assert later.urgent and later.new_flags == ()
    assert wording.emergency("112") not in later.prompt
    summary = dialogue.clinician_summary()
    assert summary.as_text().startswith(
        "URGENT: Chest pain with shortness of breath\nReason for visit:"
    )


def test_self_harm_is_answered_at_once(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = new_dialogue(questionnaire)
    dialogue.start()
    turn = dialogue.reply("I want to kill myself")
    assert [f.id for f in turn.new_flags] == ["self-harm"]
    assert turn.prompt.startswith("Thank you for telling me. You are not alone.")
    assert "please call your local emergency number now" in turn.prompt
    assert turn.prompt.endswith("I heard: I want to kill myself. Is that right?")


def test_self_harm_in_a_reply_to_another_question(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = new_dialogue(questionnaire)
    dialogue.start()
    run(dialogue, ["back pain", "yes", "a month", "yes"])
    turn = dialogue.reply("it doesn't matter, I don't want to live any more")
    assert [f.id for f in turn.new_flags] == ["self-harm"]
    assert turn.link_id == "severity"
    assert turn.prompt.endswith("how bad is it right now?")


def test_infant_fever_flag_when_age_comes_after_fever(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = new_dialogue(questionnaire)
    dialogue.start()
    run(
        dialogue, ["my baby is hot", "yes", "since yesterday", "yes", "five", "yes", "fever", "yes"]
    )
    assert not dialogue.urgent
    run(dialogue, ["six weeks old"])
    turn = dialogue.reply("yes")
    assert [f.id for f in turn.new_flags] == ["infant-fever"]
    assert turn.link_id == "sex-at-birth"


@pytest.mark.parametrize(
    ("sex", "age", "asked"),
    [
        ("female", "30", True),
        ("male", "30", False),
        ("female", "70", False),
        ("intersex", "20", True),
    ],
)
def test_pregnancy_question_follows_enable_when(
    questionnaire: IntakeQuestionnaire, sex: str, age: str, asked: bool
) -> None:
    dialogue = new_dialogue(questionnaire)
    dialogue.start()
    run(
        dialogue, ["rash", "yes", "two days", "yes", "three", "yes", "rash", "yes", age, "yes", sex]
    )
    turn = dialogue.reply("yes")
    assert turn.link_id == ("pregnant" if asked else "conditions")


def _to_summary(dialogue: IntakeDialogue, sex: str = "male") -> Turn:
    dialogue.start()
    replies = ["rash", "yes", "two days", "yes", "three", "yes", "rash", "yes", "30", "yes"]
    replies += [sex, "yes", "none", "yes", "none", "yes", "none", "yes"]
    return run(dialogue, replies)[-1]


def test_summary_correction_by_name(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = new_dialogue(questionnaire)
    assert _to_summary(dialogue).stage == "summary"
    which = dialogue.reply("no")
    assert which.stage == "correction"
    assert which.prompt == (
        "Which answer would you like to change? For example, say reason for visit or how long."
    )
    assert "allergies" in which.phrases
    not_named = dialogue.reply("the purple one")
    assert not_named.prompt.startswith(wording.NOT_THAT_ITEM)
    asked = dialogue.reply("the pain score")
    assert asked.link_id == "severity" and asked.prompt.startswith(wording.CHANGE_ITEM)
    run(dialogue, ["eight"])
    summary = dialogue.reply("yes")
    assert summary.stage == "summary" and "Severity: 8 out of 10." in summary.prompt
    direct = dialogue.reply("no, my allergies are wrong")
    assert direct.link_id == "allergies"
    run(dialogue, ["penicillin", "yes"])
    assert dialogue.reply("yes").done
    assert dialogue.answers["allergies"] == Answered(
        ({"valueString": "penicillin"},), "penicillin", "penicillin"
    )


def test_correction_that_enables_a_new_question(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = new_dialogue(questionnaire)
    assert "Could be pregnant" not in _to_summary(dialogue, sex="male").prompt
    run(dialogue, ["no", "sex at birth", "female"])
    pregnancy = dialogue.reply("yes")
    assert pregnancy.link_id == "pregnant"  # newly enabled, asked before the summary
    summary = dialogue.reply("no")
    assert summary.stage == "summary" and "Could be pregnant: no." in summary.prompt


def test_nothing_to_change_returns_to_summary(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = new_dialogue(questionnaire)
    _to_summary(dialogue)
    dialogue.reply("no")
    assert dialogue.reply("never mind").stage == "summary"


def test_clock_moves_with_replies(questionnaire: IntakeQuestionnaire) -> None:
    dialogue = new_dialogue(questionnaire)
    dialogue.start()
    dialogue.reply("cough", now=NOW + timedelta(days=1))
    dialogue.reply("yes")
    assert (
        dialogue.reply("since yesterday").prompt == "I heard since yesterday, 1 day. Is that right?"
    )
    assert dialogue.questionnaire_response()["authored"] == "2025-03-06T10:00:00Z"


def test_misuse_is_refused(questionnaire: IntakeQuestionnaire) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        IntakeDialogue(questionnaire, datetime(2025, 3, 5))
    dialogue = new_dialogue(questionnaire)
    with pytest.raises(RuntimeError, match="start"):
        dialogue.reply("hello")
    first = dialogue.start()
    assert dialogue.start().prompt == first.prompt
