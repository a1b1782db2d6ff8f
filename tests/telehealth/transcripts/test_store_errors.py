"""A failed write's error names the statement, never the values (hide_parameters)."""

from __future__ import annotations

import pytest

from tests.telehealth.test_no_phi_in_logs import (
    PATIENT_NAME,
    SPOKEN,
    refuse_transcript_writes,
    store,
)
from tests.telehealth.transcripts.conftest import Clinic


@pytest.mark.asyncio
async def test_a_failed_insert_does_not_quote_the_transcript(clinic: Clinic) -> None:
    await refuse_transcript_writes(clinic.database)
    with pytest.raises(Exception) as raised:
        await store(clinic.database, clinic.consented, SPOKEN)
    message = str(raised.value)
    assert "INSERT INTO transcript_segments" in message
    assert "hidden due to hide_parameters" in message
    assert SPOKEN not in message and PATIENT_NAME not in message
