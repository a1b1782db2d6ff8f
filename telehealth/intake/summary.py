"""Read-back summary for the patient, and the structured summary for the clinician."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from telehealth.intake import wording
from telehealth.intake.answers import Absent, ItemAnswer
from telehealth.intake.enable_when import enabled_answers
from telehealth.intake.questionnaire import IntakeQuestionnaire
from telehealth.intake.red_flags import RedFlag


@dataclass(frozen=True, slots=True)
class SummaryLine:
    """One answered question, in plain words."""

    link_id: str
    label: str
    text: str


@dataclass(frozen=True, slots=True)
class ClinicianSummary:
    """What the clinician reads first: urgent flags, then one line per answer."""

    urgent: bool
    flags: tuple[RedFlag, ...]
    lines: tuple[SummaryLine, ...]

    def as_text(self) -> str:
        flags = [f"URGENT: {flag.title}" for flag in self.flags]
        return "\n".join([*flags, *(f"{line.label}: {line.text}" for line in self.lines)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "urgent": self.urgent,
            "flags": [{"id": f.id, "title": f.title, "advice": f.advice} for f in self.flags],
            "lines": [{"linkId": s.link_id, "label": s.label, "text": s.text} for s in self.lines],
        }


def summary_lines(
    questionnaire: IntakeQuestionnaire, answers: Mapping[str, ItemAnswer]
) -> tuple[SummaryLine, ...]:
    """One line per enabled, asked question, in questionnaire order."""
    lines = []
    for link_id, answer in enabled_answers(questionnaire, answers).items():
        if isinstance(answer, Absent):
            text = (
                wording.UNKNOWN_IN_SUMMARY
                if answer.reason == "asked-unknown"
                else wording.SKIPPED_IN_SUMMARY
            )
        else:
            text = answer.spoken
        lines.append(SummaryLine(link_id, questionnaire.item(link_id).label, text))
    return tuple(lines)


def spoken_summary(questionnaire: IntakeQuestionnaire, answers: Mapping[str, ItemAnswer]) -> str:
    """The read-back before the patient confirms: "Reason for visit: sore throat. ..."."""
    said = " ".join(
        f"{line.label}: {line.text.rstrip('.')}." for line in summary_lines(questionnaire, answers)
    )
    return f"{wording.SUMMARY_INTRO} {said} {wording.SUMMARY_QUESTION}"


def clinician_summary(
    questionnaire: IntakeQuestionnaire,
    answers: Mapping[str, ItemAnswer],
    flags: Sequence[RedFlag],
) -> ClinicianSummary:
    """The clinician's view of an intake, urgent flags first."""
    return ClinicianSummary(
        urgent=bool(flags), flags=tuple(flags), lines=summary_lines(questionnaire, answers)
    )
