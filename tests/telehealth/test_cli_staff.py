"""Staff accounts from the command line, run as an operator would (subprocesses)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from telehealth.storage.models import AuditEvent, Clinician
from tests.server_database import server_database
from tests.telehealth.test_cli import assert_one_clear_line, telehealth

PASSWORD = "correct horse battery"


def create(tmp_path: Path, kind: str, email: str) -> None:
    made = telehealth(
        tmp_path,
        kind,
        "create",
        "--email",
        email,
        "--name",
        email.split("@")[0].title(),
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == f"created {kind} {email}"


def listed(tmp_path: Path) -> list[list[str]]:
    result = telehealth(tmp_path, "clinician", "list")
    assert result.returncode == 0, result.stderr
    return [line.split("\t") for line in result.stdout.splitlines()]


async def stored(tmp_path: Path) -> tuple[Clinician, list[AuditEvent]]:
    database = server_database(tmp_path / "var")
    try:
        async with database.session() as session:
            grace = await session.scalar(
                select(Clinician).where(Clinician.email == "grace@clinic.example")
            )
            events = await session.execute(select(AuditEvent).order_by(AuditEvent.id))
            assert grace is not None
            return grace, list(events.scalars())
    finally:
        await database.close()


@pytest.mark.asyncio
async def test_admin_and_clinician_accounts_are_managed_by_email(tmp_path: Path) -> None:
    create(tmp_path, "admin", "root@clinic.example")
    create(tmp_path, "clinician", "grace@clinic.example")
    assert listed(tmp_path) == [
        ["grace@clinic.example", "clinician", "active", "Grace"],
        ["root@clinic.example", "admin", "active", "Root"],
    ]
    for command, said in (
        ("disable", "disabled"),
        ("enable", "enabled"),
        ("reset-mfa", "reset the second factor of"),
        ("revoke-sessions", "signed out"),
        ("disable", "disabled"),
    ):
        result = telehealth(tmp_path, "clinician", command, "--email", "Grace@Clinic.example")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{said} grace@clinic.example"
    assert listed(tmp_path)[0][:3] == ["grace@clinic.example", "clinician", "disabled"]

    weak = telehealth(
        tmp_path,
        "clinician",
        "reset-password",
        "--email",
        "grace@clinic.example",
        "--password-stdin",
        stdin="password1234\n",
    )
    assert_one_clear_line(weak, 1, "too easy to guess")
    reset = telehealth(
        tmp_path,
        "clinician",
        "reset-password",
        "--email",
        "grace@clinic.example",
        "--password-stdin",
        stdin="violet harbour lantern seventeen\n",
    )
    assert reset.returncode == 0, reset.stderr

    grace, events = await stored(tmp_path)
    assert grace.must_change_password and not grace.is_active
    changes = [(e.action, e.actor_type) for e in events if e.action.startswith("staff.")]
    assert changes == [
        ("staff.disabled", "system"),
        ("staff.enabled", "system"),
        ("staff.mfa_reset", "system"),
        ("staff.sessions_revoked", "system"),
        ("staff.disabled", "system"),
        ("staff.password_reset", "system"),
    ]


def test_staff_commands_fail_in_one_line(tmp_path: Path) -> None:
    create(tmp_path, "admin", "root@clinic.example")
    for command in ("disable", "enable", "reset-mfa", "revoke-sessions"):
        unknown = telehealth(tmp_path, "clinician", command, "--email", "nobody@clinic.example")
        assert_one_clear_line(unknown, 1, "no staff account with email nobody@clinic.example")
    not_an_email = telehealth(tmp_path, "clinician", "disable", "--email", "nobody")
    assert_one_clear_line(not_an_email, 1, "no staff account with email nobody")
    again = telehealth(
        tmp_path,
        "admin",
        "create",
        "--email",
        "root@clinic.example",
        "--name",
        "Root",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert_one_clear_line(again, 1, "already exists")
