from __future__ import annotations

from datetime import UTC, datetime

import pytest

from telehealth.intake.questionnaire import IntakeQuestionnaire, load_questionnaire

# A Wednesday, so "since Monday" is two days back.
NOW = datetime(2025, 3, 5, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def questionnaire() -> IntakeQuestionnaire:
    return load_questionnaire()
