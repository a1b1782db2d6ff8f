"""New staff passwords: at least 12 characters, and not common or guessable."""

from __future__ import annotations

from pathlib import Path

import pytest

from telehealth.clinicians import create_clinician
from telehealth.password_policy import check_new_password
from telehealth.security import WeakPassword
from telehealth.storage import Database, upgrade_database


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short", "at least 12 characters"),
        ("password1234", "very common password"),
        ("qwertyuiop12", "too easy to guess"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
    ],
)
def test_short_and_common_passwords_are_refused_without_echoing_them(
    password: str, why: str
) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_new_password(password)
    assert why in str(refused.value)
    assert password not in str(refused.value)


def test_the_persons_own_email_and_name_count_as_guessable() -> None:
    check_new_password("lovelace analytical 1843")
    with pytest.raises(WeakPassword):
        check_new_password("lovelace1843", user_inputs=["ada.lovelace@clinic.example"])


def test_long_passphrases_pass_whatever_their_length() -> None:
    check_new_password("correct horse battery staple 42")
    check_new_password("unrelated words make a strong passphrase " * 20)


@pytest.mark.asyncio
async def test_accounts_are_not_created_with_a_weak_password(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await upgrade_database(database)
        with pytest.raises(WeakPassword):
            async with database.session() as session:
                await create_clinician(
                    session, email="ada@clinic.example", display_name="Ada", password="password1234"
                )
    finally:
        await database.close()
