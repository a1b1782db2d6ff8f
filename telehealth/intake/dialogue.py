"""The voice intake dialogue: text in, prompts out, no I/O.

`IntakeDialogue` asks each enabled question, confirms what it understood ("I heard 7 out
of 10. Is that right?"), handles repeat / skip / go back / I don't know / help, re-asks
with an example after two replies it could not understand and then offers the keyboard,
checks red flags after every reply, and ends with a read-back the patient confirms or
corrects. Yes/no questions are not confirmed again: the answer already is a yes or no,
and the read-back covers them.

The caller owns the transport: speak or show `Turn.prompt`, feed the next reply to
`reply()`, store `questionnaire_response()` when `Turn.done`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from telehealth.intake import wording
from telehealth.intake.answers import (
    Absent,
    Answered,
    ItemAnswer,
    NotUnderstood,
    NotUnderstoodReason,
    Parsed,
)
from telehealth.intake.commands import Command, command_in
from telehealth.intake.enable_when import is_enabled
from telehealth.intake.mentions import Lexicon, find_mentions
from telehealth.intake.parsers import parse_answer, split_yes_no
from telehealth.intake.questionnaire import IntakeItem, IntakeQuestionnaire
from telehealth.intake.red_flags import RedFlag, RedFlagChecker, RedFlagRules, load_red_flag_rules
from telehealth.intake.response import to_questionnaire_response
from telehealth.intake.summary import ClinicianSummary, clinician_summary, spoken_summary
from telehealth.intake.turn import (
    Stage,
    Turn,
    expectation_for,
    item_name_phrases,
    phrases_for_item,
    yes_no_phrases,
)
from telehealth.intake.words import normalize

KEYBOARD_AFTER_FAILURES = 3
_NOTHING_TO_CHANGE = frozenset({"nothing", "never mind", "nevermind", "none", "all good"})


class IntakeDialogue:
    """One patient's intake conversation over a questionnaire.

    `now` (timezone-aware) anchors relative answers such as "since yesterday" and becomes
    the response's `authored` time; pass a fresh one to `reply()` to move it on.
    `emergency_number` is spoken in red-flag messages ("call 112 now"); without it the
    message says "your local emergency number".
    """

    def __init__(
        self,
        questionnaire: IntakeQuestionnaire,
        now: datetime,
        *,
        red_flag_rules: RedFlagRules | None = None,
        emergency_number: str | None = None,
    ) -> None:
        self._questionnaire = questionnaire
        self._now = _aware(now)
        self._checker = RedFlagChecker(red_flag_rules or load_red_flag_rules(), questionnaire)
        self._emergency_number = emergency_number
        self._stage: Stage = "question"
        self._item: IntakeItem | None = None
        self._candidate: Parsed | None = None
        self._candidate_source = ""
        self._failures = 0
        self._history: list[str] = []
        self._answers: dict[str, ItemAnswer] = {}
        self._flags: list[RedFlag] = []
        self._reply_findings: set[str] = set()
        self._last_prompt = ""
        self._started = False

    @property
    def answers(self) -> Mapping[str, ItemAnswer]:
        """Confirmed answers by linkId (including ones a later change made irrelevant)."""
        return dict(self._answers)

    @property
    def flags(self) -> tuple[RedFlag, ...]:
        return tuple(self._flags)

    @property
    def urgent(self) -> bool:
        return bool(self._flags)

    @property
    def done(self) -> bool:
        return self._stage == "done"

    def start(self) -> Turn:
        """The greeting and the first question. Calling it again repeats the last prompt."""
        if self._started:
            return self._turn(self._last_prompt, ())
        self._started = True
        return self._turn(self._advance(wording.INTRO), ())

    def reply(self, text: str, now: datetime | None = None) -> Turn:
        """Take the patient's reply (recognized speech or typed text) and say what comes next."""
        if not self._started:
            raise RuntimeError("call start() before reply()")
        if now is not None:
            self._now = _aware(now)
        self._reply_findings |= self._checker.reply_findings(text)
        if self._stage == "question":
            prompt = self._on_question(text)
        elif self._stage == "confirm":
            prompt = self._on_confirm(text)
        elif self._stage == "summary":
            prompt = self._on_summary(text)
        elif self._stage == "correction":
            prompt = self._on_correction(text)
        else:
            prompt = wording.ALREADY_DONE
        return self._turn(prompt, self._update_flags())

    def questionnaire_response(self, response_id: str | None = None) -> dict[str, Any]:
        """The FHIR QuestionnaireResponse so far: completed once the patient confirmed it."""
        return to_questionnaire_response(
            self._questionnaire,
            self._answers,
            status="completed" if self.done else "in-progress",
            authored=self._now,
            response_id=response_id,
        )

    def clinician_summary(self) -> ClinicianSummary:
        return clinician_summary(self._questionnaire, self._answers, self._flags)

    # -- stages ---------------------------------------------------------------------------

    def _on_question(self, text: str) -> str:
        item = self._current()
        # Options first: "prefer not to say" is an answer here, not a request to skip.
        if item.parser == "choice":
            result = parse_answer(item, text, self._now)
            if isinstance(result, Parsed):
                return self._accept(result, text)
        command = command_in(text)
        if command:
            return self._command(command)
        result = parse_answer(item, text, self._now)
        if isinstance(result, NotUnderstood):
            return self._failed(result.reason)
        return self._accept(result, text)

    def _on_confirm(self, text: str) -> str:
        item, candidate = self._current(), self._candidate
        assert candidate is not None
        command = command_in(text)
        if command == "repeat":
            return wording.confirm(item, candidate.spoken)
        if command == "help":
            return f"{wording.CONFIRM_HELP} {wording.confirm(item, candidate.spoken)}"
        if command == "back":
            return self._ask(item, wording.TRY_AGAIN)
        if command in ("skip", "dont_know"):
            self._stage = "question"
            return self._command(command)
        answer, rest = split_yes_no(text)
        if answer is True:
            self._commit(Answered(candidate.values, candidate.spoken, self._candidate_source))
            return self._advance(wording.THANKS)
        if answer is False:
            # "No, eight": the correction came with the no.
            if rest and item.parser != "text" and split_yes_no(rest)[0] is None:
                corrected = parse_answer(item, rest, self._now)
                if isinstance(corrected, Parsed):
                    return self._accept(corrected, rest)
            return self._ask(item, wording.TRY_AGAIN)
        if item.parser not in ("text", "list"):  # the patient just said the answer again
            again = parse_answer(item, text, self._now)
            if isinstance(again, Parsed):
                return self._accept(again, text)
        self._failures += 1
        keyboard = f" {wording.KEYBOARD}" if self._keyboard_offered() else ""
        return f"{wording.SAY_YES_OR_NO}{keyboard} {wording.confirm(item, candidate.spoken)}"

    def _on_summary(self, text: str) -> str:
        command = command_in(text)
        if command == "repeat":
            return spoken_summary(self._questionnaire, self._answers)
        if command == "help":
            return f"{wording.SUMMARY_HELP} {wording.SUMMARY_QUESTION}"
        if command == "back" and self._history:
            return self._ask(self._questionnaire.item(self._history.pop()), wording.GO_BACK)
        named = self._named_item(text)
        answer, _rest = split_yes_no(text)
        if named is not None and answer is not True:
            return self._ask(named, wording.CHANGE_ITEM)
        if answer is True:
            self._stage = "done"
            return wording.DONE
        if answer is False:
            self._stage, self._failures = "correction", 0
            return wording.which_item(self._labels())
        self._failures += 1
        keyboard = f" {wording.KEYBOARD}" if self._keyboard_offered() else ""
        return f"{wording.SUMMARY_HELP}{keyboard} {wording.SUMMARY_QUESTION}"

    def _on_correction(self, text: str) -> str:
        named = self._named_item(text)
        if named is not None:
            return self._ask(named, wording.CHANGE_ITEM)
        command = command_in(text)
        if command in ("repeat", "help"):
            return wording.which_item(self._labels())
        if command == "back" or normalize(text) in _NOTHING_TO_CHANGE:
            self._stage, self._failures = "summary", 0
            return spoken_summary(self._questionnaire, self._answers)
        self._failures += 1
        keyboard = f" {wording.KEYBOARD}" if self._keyboard_offered() else ""
        return f"{wording.name_the_items(self._labels())}{keyboard}"

    # -- steps ----------------------------------------------------------------------------

    def _command(self, command: Command) -> str:
        item = self._current()
        if command == "repeat":
            example = f" {item.example}" if item.example and self._failures >= 2 else ""
            return f"{item.text}{example}"
        if command == "help":
            return f"{wording.help_text(item)} {item.text}"
        if command == "back":
            if not self._history:
                return f"{wording.FIRST_QUESTION} {item.text}"
            return self._ask(self._questionnaire.item(self._history.pop()), wording.GO_BACK)
        if item.required:
            return f"{wording.REQUIRED} {item.text}"
        self._commit(Absent("asked-unknown" if command == "dont_know" else "asked-declined"))
        return self._advance(wording.UNKNOWN if command == "dont_know" else wording.SKIPPED)

    def _accept(self, parsed: Parsed, source: str) -> str:
        item = self._current()
        if item.parser == "boolean":
            self._commit(Answered(parsed.values, parsed.spoken, source))
            return self._advance(wording.THANKS)
        self._stage, self._candidate, self._candidate_source = "confirm", parsed, source
        self._failures = 0
        return wording.confirm(item, parsed.spoken)

    def _failed(self, reason: NotUnderstoodReason) -> str:
        self._failures += 1
        return wording.not_understood(self._current(), self._failures, reason)

    def _commit(self, answer: ItemAnswer) -> None:
        link_id = self._current().link_id
        self._answers[link_id] = answer
        self._history = [done for done in self._history if done != link_id] + [link_id]

    def _ask(self, item: IntakeItem, lead: str = "") -> str:
        self._stage, self._item, self._candidate, self._failures = "question", item, None, 0
        return f"{lead} {item.text}".strip()

    def _advance(self, lead: str = "") -> str:
        """Ask the first enabled question without an answer, or read back the summary."""
        for item in self._questionnaire.questions():
            if item.link_id not in self._answers and is_enabled(
                self._questionnaire, item.link_id, self._answers
            ):
                return self._ask(item, lead)
        self._stage, self._item, self._failures = "summary", None, 0
        return f"{lead} {spoken_summary(self._questionnaire, self._answers)}".strip()

    # -- helpers --------------------------------------------------------------------------

    def _current(self) -> IntakeItem:
        assert self._item is not None, "no current question"
        return self._item

    def _keyboard_offered(self) -> bool:
        return self._stage != "done" and self._failures >= KEYBOARD_AFTER_FAILURES

    def _answered_items(self) -> list[IntakeItem]:
        return [
            item
            for item in self._questionnaire.questions()
            if item.link_id in self._answers
            and is_enabled(self._questionnaire, item.link_id, self._answers)
        ]

    def _labels(self) -> list[str]:
        return [item.label for item in self._answered_items()]

    def _named_item(self, text: str) -> IntakeItem | None:
        items = self._answered_items()
        lexicon = Lexicon.build({item.link_id: (item.label, *item.aliases) for item in items})
        named = {m.key for m in find_mentions(text, lexicon) if not m.negated}
        if len(named) != 1:
            return None
        return self._questionnaire.item(named.pop())

    def _update_flags(self) -> tuple[RedFlag, ...]:
        raised = self._checker.evaluate(self._answers, self._reply_findings)
        new = tuple(flag for flag in raised if flag not in self._flags)
        self._flags.extend(new)
        return new

    def _turn(self, prompt: str, new_flags: tuple[RedFlag, ...]) -> Turn:
        if new_flags:
            warnings = []
            if any(flag.advice == "crisis" for flag in new_flags):
                warnings.append(wording.crisis(self._emergency_number))
            if any(flag.advice == "emergency" for flag in new_flags):
                warnings.append(wording.emergency(self._emergency_number))
            if not self.done:
                warnings.append(wording.CONTINUE_AFTER_FLAG)
            # An emergency message is not a moment for "Thank you." before the next question.
            prompt = prompt.removeprefix(f"{wording.THANKS} ")
            prompt = f"{' '.join(warnings)} {prompt}"
        self._last_prompt = prompt
        item = self._item if self._stage in ("question", "confirm") else None
        if self._stage == "question" and item is not None:
            expects, phrases = expectation_for(item), phrases_for_item(item)
        elif self._stage == "confirm":
            expects, phrases = "yes_no", yes_no_phrases()
        elif self._stage == "summary":
            expects = "yes_no"
            phrases = tuple(sorted({*yes_no_phrases(), *item_name_phrases(self._answered_items())}))
        elif self._stage == "correction":
            expects, phrases = "item_name", item_name_phrases(self._answered_items())
        else:
            expects, phrases = "nothing", ()
        return Turn(
            prompt=prompt,
            stage=self._stage,
            link_id=item.link_id if item else None,
            expects=expects,
            phrases=phrases,
            new_flags=new_flags,
            flags=tuple(self._flags),
            offer_keyboard=self._keyboard_offered(),
            done=self.done,
        )


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now
