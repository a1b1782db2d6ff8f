"""Everything the intake says, in one place: short, plain and kind, because it is spoken
aloud to people who may be unwell or anxious. Keep sentences short enough to hear once."""

from __future__ import annotations

from telehealth.intake.answers import NotUnderstoodReason
from telehealth.intake.questionnaire import IntakeItem

INTRO = (
    "Hello. Before your visit, I will ask a few short questions so the care team is ready "
    "for you. Answer in your own words. You can say repeat, skip, go back, or help at any time."
)
THANKS = "Thank you."
SKIPPED = "Okay, we'll skip that one."
UNKNOWN = "That's all right."
REQUIRED = "This one helps the care team most, so I can't skip it. A few words are enough."
GO_BACK = "Okay, let's go back."
FIRST_QUESTION = "This is the first question."
TRY_AGAIN = "Sorry about that. Let's try again."
SAY_YES_OR_NO = "Sorry, please say yes or no."
CONFIRM_HELP = "If that is right, say yes. If not, say no, and we will try again."
KEYBOARD = "You can also type your answer with the keyboard, if that is easier."
SUMMARY_INTRO = "Here is what I have."
SUMMARY_QUESTION = "Is all of that correct?"
SUMMARY_HELP = "Say yes if everything is right. Say no if you want to change an answer."
WHICH_ITEM = "Which answer would you like to change?"
CHANGE_ITEM = "Okay, let's change that."
NOT_THAT_ITEM = "Sorry, I didn't catch which answer."
DONE = (
    "Thank you. Your answers are ready for the care team. Please stay on this page, "
    "someone will be with you soon."
)
ALREADY_DONE = "Your answers are already complete. Thank you."
CONTINUE_AFTER_FLAG = "If you can, let's carry on with a few more questions."
SKIPPED_IN_SUMMARY = "skipped"
UNKNOWN_IN_SUMMARY = "not known"
LOCAL_EMERGENCY_NUMBER = "your local emergency number"


def help_text(item: IntakeItem) -> str:
    hint = item.example or ""
    return (
        f"Answer in your own words. {hint} You can also say repeat, skip, go back, or I don't know."
    ).replace("  ", " ")


def not_understood(item: IntakeItem, failures: int, reason: NotUnderstoodReason) -> str:
    """The re-ask after `failures` replies in a row were not understood."""
    if failures <= 1:
        return f"Sorry, I didn't understand that. {_hint(item, reason)}{item.text}"
    example = f" {item.example}" if item.example else ""
    if failures == 2:
        return f"Let me ask again. {item.text}{example}"
    return f"Sorry, I'm still not getting it. {KEYBOARD} {item.text}{example}"


def _hint(item: IntakeItem, reason: NotUnderstoodReason) -> str:
    if reason == "out_of_range" and item.min_value is not None and item.max_value is not None:
        return f"Please choose a number from {item.min_value} to {item.max_value}. "
    if reason == "ambiguous" and item.parser in ("integer", "duration", "age"):
        return "Please give just one number. "
    if reason == "too_long":
        return "That was a bit long for me. Please keep it short. "
    return ""


def confirm(item: IntakeItem, spoken: str) -> str:
    said = f": {spoken}" if item.parser in ("text", "list") else f" {spoken}"
    return f"I heard{said}. Is that right?"


def which_item(labels: list[str]) -> str:
    examples = " or ".join(label.lower() for label in labels[:2])
    return f"{WHICH_ITEM} For example, say {examples}." if examples else WHICH_ITEM


def name_the_items(labels: list[str]) -> str:
    return f"{NOT_THAT_ITEM} You can say: {', '.join(label.lower() for label in labels)}."


def emergency(number: str | None) -> str:
    return (
        "What you told me could be a sign of an emergency. "
        f"Please call {number or LOCAL_EMERGENCY_NUMBER} now. "
        "I have marked your answers as urgent for the care team."
    )


def crisis(number: str | None) -> str:
    return (
        "Thank you for telling me. You are not alone. If you might act on these thoughts, "
        f"please call {number or LOCAL_EMERGENCY_NUMBER} now, or a crisis line. "
        "I have marked your answers as urgent for the care team."
    )
