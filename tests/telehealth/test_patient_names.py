"""The name a patient types: their own name, tidied; nothing that passes for staff."""

from __future__ import annotations

import pytest

from telehealth.visits.patient_names import NameRefused, patient_display_name


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("  Anne-Marie   O'Neil ", "Anne-Marie O'Neil"),
        ("José Núñez", "José Núñez"),
        ("李小龙", "李小龙"),
        ("Drew Clinichek", "Drew Clinichek"),  # words that only contain a staff word
        ("Ｋｉｍ", "Kim"),  # full-width forms become plain letters
    ],
)
def test_own_names_are_kept_tidied(typed: str, shown: str) -> None:
    assert patient_display_name(typed) == shown


@pytest.mark.parametrize(
    "typed",
    [
        "Dr. Demo (clinic staff)",
        "Demo [clinician]",
        "dr demo",
        "Nurse Joy",
        "The Doctor",
        "admin",
        "System",
        "Jo <b>",
        "Jo\u202eKim",  # right-to-left override
        "Jo\u200bKim",  # zero-width space
        "Jo\x07",
        "\t \n",
        "x" * 101,
    ],
)
def test_names_that_could_pass_for_staff_or_hide_text_are_refused(typed: str) -> None:
    with pytest.raises(NameRefused) as refused:
        patient_display_name(typed)
    assert str(refused.value).startswith("please")
