"""CommandMatcher: wake phrase in and out of a call, conversation, confirmation, hints."""

from __future__ import annotations

import pytest

from telehealth.navigation import (
    CommandMatch,
    CommandMatcher,
    InvalidWakePhrase,
    NoCommand,
    NotUnderstoodCommand,
    UnknownPage,
    phrases_for,
)
from telehealth.navigation.commands import CONFIRMATION_TIMEOUT_S, WAKE_WINDOW_S
from telehealth.navigation.matching import split_on_wake, strip_wake
from voice.phrases import PhraseList
from voice.recognition import Final, NotUnderstood

HINT = "Sorry, I didn't catch that. Say 'what can I say' to hear the commands."
CALL_HINT = "Sorry, I didn't catch that. Say 'assistant, what can I say' to hear the commands."


# Read through functions: mypy would otherwise keep narrowing the attributes across calls.
def pending(matcher: CommandMatcher) -> str | None:
    return matcher.pending_confirmation


def listening(matcher: CommandMatcher) -> bool:
    return matcher.listening


def in_call(matcher: CommandMatcher) -> bool:
    return matcher.in_call


def action_of(result: object) -> str | None:
    return result.action if isinstance(result, CommandMatch) else None


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("Assistant, mute.", "mute"),
        ("assistant mute my microphone", "mute"),
        ("Assistant, unmute my microphone.", "unmute"),
        ("Assistant, unmute me.", "unmute"),
        ("Assistant, turn on my camera.", "camera_on"),
        ("Assistant, turn off my camera.", "camera_off"),
        ("ASSISTANT: camera off!", "camera_off"),
        ("Hey assistant, captions on.", "captions_on"),
        ("Okay, assistant, read the last caption.", "read_last_caption"),
        ("Assistance, read the captions.", "read_captions"),  # a common mishearing
        ("Assist and help.", "help"),
        ("Assistant where am I", "where_am_i"),
        ("Assistant, say that again.", "repeat"),
        ("Assistant, speak faster.", "faster"),
        ("Assistant, slower please", "slower"),  # fuzzy: "slower please"
        ("Assistant, raise the volume.", "louder"),
        ("Assistant, quieter.", "softer"),
        ("Assistant, not so loud.", "softer"),
        ("Assistant, go faster, assistant, go fast", "faster"),  # listed on, cut short
        ("Assistant, stop listening.", "stop_listening"),
        # Whisper, prompted with the list, sometimes goes on listing the same command.
        ("Assistant, where am I, assistant, where I'm I,", "where_am_i"),
        ("Assistant mute, assistant", "mute"),
        ("Assistant, lower the volume, assistant lower the", "softer"),  # truncated repeat
        ("Assistant, captions on, assistant captions", "captions_on"),
    ],
)
def test_in_a_call_commands_start_with_the_wake_phrase(text: str, action: str) -> None:
    result = CommandMatcher("call").match(text)
    assert isinstance(result, CommandMatch)
    assert (result.action, result.outcome, result.heard) == (action, "perform", text)


@pytest.mark.parametrize(
    "text",
    [
        "Mute.",
        "mute my microphone",
        "I can't mute my microphone",
        "I can't mute the TV at night.",
        "My camera at home is better than this one.",
        "Can you speak louder?",
        "What did they say?",
        "Could you turn on captions?",
        "Yes.",
        "No, not really.",
        "I've had this cough for about a week.",
        "As I said, the cough is worse at night.",
        "I asked my assistant to book it.",
        "Help.",
        "",
        "  ...  ",
    ],
)
def test_conversation_in_a_call_is_no_command_and_gets_no_hint(text: str) -> None:
    assert CommandMatcher("call").match(text) == NoCommand(text)


@pytest.mark.parametrize(
    ("page", "text", "action"),
    [
        ("join", "Check in.", "check_in"),
        ("join", "I'm here.", "check_in"),
        ("join", "Join the call", "check_in"),
        ("join", "assistant, check in", "check_in"),  # tolerated outside a call
        ("join", "Start symptom check.", "start_symptom_check"),
        ("device_check", "Mute.", "mute"),
        ("device_check", "Turn off my camera.", "camera_off"),
        ("waiting", "What can I say?", "help"),
        ("waiting", "Louder!", "louder"),
        ("ended", "Where am I?", "where_am_i"),
        ("intake", "Repeat that.", "repeat"),
    ],
)
def test_outside_a_call_no_wake_phrase_is_needed(page: str, text: str, action: str) -> None:
    assert action_of(CommandMatcher(page).match(text)) == action


@pytest.mark.parametrize(
    ("page", "text", "expected"),
    [
        ("join", "Mute.", HINT),  # not on this page
        ("join", "Hello? Is anybody there?", HINT),
        ("waiting", "Camera.", HINT),  # camera on or camera off? Ask again.
        ("device_check", "Yes.", HINT),  # nothing was asked
        ("call", "Assistant, open the window.", CALL_HINT),
        ("call", "Assistant, check in.", CALL_HINT),  # not in the call
        ("call", "Assistant.", "Yes?"),
        ("intake", "Assistant, dance.", HINT),
    ],
)
def test_a_command_not_understood_gets_a_short_hint(page: str, text: str, expected: str) -> None:
    assert CommandMatcher(page).match(text) == NotUnderstoodCommand(text, expected)


def test_a_listing_that_names_two_commands_is_not_understood() -> None:
    text = "Assistant, camera on, assistant, camera off."
    assert CommandMatcher("call").match(text) == NotUnderstoodCommand(text, CALL_HINT)
    # While listening, "start listening" is no command, so this is "stop listening".
    said = "Assistant, stop listening, assistant, start listening."
    assert action_of(CommandMatcher("call").match(said)) == "stop_listening"


def test_answers_on_the_intake_page_are_left_to_the_questions() -> None:
    matcher = CommandMatcher("intake")
    for answer in ("About a week.", "Yes.", "No.", "Thirty eight point five."):
        assert matcher.match(answer) == NoCommand(answer)
    assert action_of(matcher.match("Slower.")) == "slower"
    for answer in ("Yes. Not so loud.", "Not so loud at all.", "Louder than before."):
        assert matcher.match(answer) == NoCommand(answer)  # only a whole reply is a command
    assert action_of(matcher.match("Assistant, yes, not so loud.")) == "softer"


def test_the_wake_phrase_alone_then_the_command() -> None:
    matcher = CommandMatcher("call")
    assert matcher.match("Assistant.", now=10.0) == NotUnderstoodCommand("Assistant.", "Yes?")
    assert action_of(matcher.match("Mute.", now=11.5)) == "mute"
    # Only the next utterance: the one after is conversation again.
    assert matcher.match("Mute.", now=12.0) == NoCommand("Mute.")
    # And only soon after.
    matcher.match("Assistant.", now=20.0)
    assert matcher.match("Mute.", now=20.0 + WAKE_WINDOW_S + 1) == NoCommand("Mute.")


def test_end_call_asks_and_yes_ends_it() -> None:
    matcher = CommandMatcher("call")
    asked = matcher.match("Assistant, end the call.", now=0.0)
    assert asked == CommandMatch(
        "end_call", "Assistant, end the call.", "confirm", "Are you sure? Say yes to end the call."
    )
    assert pending(matcher) == "end_call"
    assert "yes" in matcher.phrases() and matcher.phrases()[-2:] == ["yes", "no"]
    # The answer needs no wake phrase, even in a call; Whisper may say it twice.
    assert matcher.match("Yeah, yes.", now=2.0) == CommandMatch("end_call", "Yeah, yes.", "perform")
    matcher.match("Assistant, end the call.", now=2.5)
    assert matcher.match("Yes.", now=3.0) == CommandMatch("end_call", "Yes.", "perform")
    assert pending(matcher) is None
    assert "yes" not in matcher.phrases()


@pytest.mark.parametrize(
    "answer", ["No.", "Cancel", "No thanks.", "Assistant, no.", "No, no!", "Hmm, no."]
)
def test_end_call_answered_no_goes_on(answer: str) -> None:
    matcher = CommandMatcher("call")
    matcher.match("Assistant, hang up.")
    assert matcher.match(answer) == CommandMatch(
        "end_call", answer, "cancel", "OK, the call goes on."
    )
    assert pending(matcher) is None
    assert matcher.match("Yes.") == NoCommand("Yes.")  # a later yes ends nothing


def test_anything_else_drops_the_question_and_is_handled_normally() -> None:
    matcher = CommandMatcher("call")
    matcher.match("Assistant, end call.")
    assert matcher.match("Well, I still have a question.") == NoCommand(
        "Well, I still have a question."
    )
    assert matcher.match("Yes.") == NoCommand("Yes.")
    matcher.match("Assistant, end call.")
    assert action_of(matcher.match("Assistant, mute.")) == "mute"
    assert pending(matcher) is None


def test_a_stale_confirmation_expires() -> None:
    matcher = CommandMatcher("call")
    matcher.match("Assistant, end the call.", now=100.0)
    late = 100.0 + CONFIRMATION_TIMEOUT_S + 1
    assert matcher.match("Yes.", now=late) == NoCommand("Yes.")


def test_the_wake_phrase_alone_while_confirming_repeats_the_question() -> None:
    matcher = CommandMatcher("call")
    matcher.match("Assistant, end the call.")
    assert matcher.match("Assistant?") == NotUnderstoodCommand(
        "Assistant?", "Are you sure? Say yes to end the call."
    )
    assert action_of(matcher.match("Yes")) == "end_call"


def test_stop_listening_leaves_only_start_listening() -> None:
    matcher = CommandMatcher("waiting")
    stopped = matcher.match("Stop listening.")
    assert isinstance(stopped, CommandMatch) and stopped.action == "stop_listening"
    assert stopped.say == (
        "I've stopped listening for commands. Say 'start listening' when you need me."
    )
    assert not listening(matcher)
    assert matcher.listened_action_ids() == ["start_listening"]
    for text in ("Mute.", "What can I say?", "Gibberish words here"):
        assert matcher.match(text) == NoCommand(text)  # silence, not even a hint
    assert matcher.match("Start listening.") == CommandMatch(
        "start_listening", "Start listening.", "perform", "I'm listening."
    )
    assert listening(matcher)
    assert action_of(matcher.match("Mute.")) == "mute"


def test_in_a_call_resuming_needs_the_wake_phrase_too() -> None:
    matcher = CommandMatcher("call")
    matcher.match("Assistant, stop listening.")
    assert matcher.match("Start listening.") == NoCommand("Start listening.")
    assert matcher.match("Assistant, mute.") == NoCommand("Assistant, mute.")
    assert matcher.match("Assistant.") == NoCommand("Assistant.")
    assert action_of(matcher.match("Wake up.")) == "start_listening"  # after "assistant"
    matcher.set_listening(False)
    assert action_of(matcher.match("Assistant, start listening.")) == "start_listening"


def test_help_and_where_am_i_say_something() -> None:
    matcher = CommandMatcher("waiting")
    helped = matcher.match("What can I say?")
    assert isinstance(helped, CommandMatch)
    assert helped.say is not None and helped.say.startswith("You are in the waiting room.")
    assert "start symptom check" in helped.say
    where = matcher.match("Where am I?")
    assert isinstance(where, CommandMatch) and where.say == "You are in the waiting room."


def test_moving_to_another_page_changes_the_commands() -> None:
    matcher = CommandMatcher("join")
    assert action_of(matcher.match("Check in.")) == "check_in"
    matcher.move_to("call")
    assert in_call(matcher)
    assert matcher.match("Check in.") == NoCommand("Check in.")
    assert action_of(matcher.match("Assistant, captions off.")) == "captions_off"
    matcher.move_to("ended")
    assert not in_call(matcher)
    with pytest.raises(UnknownPage):
        matcher.move_to("lobby")


def test_a_custom_wake_phrase() -> None:
    matcher = CommandMatcher("call", wake_phrase="Hey Doc")
    assert matcher.wake_phrase == "hey doc"
    assert action_of(matcher.match("Hey doc, mute.")) == "mute"
    assert action_of(matcher.match("Hey, Doc. Camera off.")) == "camera_off"
    assert matcher.match("Assistant, mute.") == NoCommand("Assistant, mute.")
    assert "hey doc mute" in matcher.phrases()
    with pytest.raises(InvalidWakePhrase):
        CommandMatcher("call", wake_phrase="  ?! ")
    with pytest.raises(InvalidWakePhrase):
        CommandMatcher("call", wake_phrase="help")


def test_recognizer_events_go_through_the_same_rules() -> None:
    matcher = CommandMatcher("call")
    listed = PhraseList(matcher.phrases())
    # What the Whisper engine does with a phrase list: a Final of the listed phrase, or
    # NotUnderstood with what it heard.
    for heard, expected in [
        ("Assistant, mute.", "mute"),
        ("Assistant, mute my microphone.", "mute"),  # engine: ambiguous -> NotUnderstood
        ("Assistant, unmute my microphone.", "unmute"),
        ("I can't mute my microphone.", None),
        ("Can you turn off my camera?", None),
        ("My camera at home.", None),
    ]:
        found = listed.match(heard)
        event = Final(found.phrase, 0.0, 1.0) if found else NotUnderstood(heard, 0.0, 1.0)
        assert action_of(matcher.match_event(event)) == expected, heard
        if expected is None:
            assert isinstance(matcher.match_event(event), NoCommand)


def test_conversation_quoting_a_command_never_matches_a_wake_variant() -> None:
    # The reject class at work: the engine either picks the bare phrase or refuses.
    listed = PhraseList(phrases_for("call"))
    for sentence in [
        "I can't mute my microphone",
        "Can you turn off my camera",
        "Could you turn on captions",
        "I want to end the call soon",
        "Please speak louder",
        "What did they say",
    ]:
        found = listed.match(sentence)
        assert found is None or not found.phrase.startswith("assistant"), sentence


def test_wake_word_helpers() -> None:
    wake = ["assistant"]
    assert strip_wake(["hey", "assistant", "mute"], wake) == (["mute"], True)
    assert strip_wake(["assist", "and", "mute"], wake) == (["mute"], True)
    assert strip_wake(["as", "i", "said"], wake) == (["as", "i", "said"], False)
    assert strip_wake(["mute", "assistant"], wake) == (["mute", "assistant"], False)
    assert split_on_wake(["mute", "assistant"], wake) == [["mute"], []]
    assert split_on_wake(["on", "assistant", "camera"], wake) == [["on"], ["camera"]]
