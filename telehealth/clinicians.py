"""Staff accounts: clinicians and admins."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.password_policy import check_new_password
from telehealth.security import hash_password
from telehealth.storage.models import Clinician, StaffRole


class ClinicianExists(ValueError):
    """A clinician with that email already exists."""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not (local and at and domain) or " " in email:
        raise ValueError(f"not an email address: {email!r}")
    return email


async def create_clinician(
    session: AsyncSession,
    *,
    email: str,
    display_name: str,
    password: str,
    role: StaffRole = StaffRole.clinician,
    temporary_password: bool = False,
    actor: audit.Actor = audit.SYSTEM,
) -> Clinician:
    """A new staff account; with `temporary_password` its first sign-in must change it."""
    email = normalise_email(email)
    check_new_password(password, user_inputs=[email, display_name])
    if await find_by_email(session, email) is not None:
        raise ClinicianExists(f"a clinician with email {email} already exists")
    clinician = Clinician(
        email=email,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        role=role.value,
        must_change_password=temporary_password,
    )
    session.add(clinician)
    await session.flush()
    audit.record(
        session,
        actor_type=actor.type,
        actor_id=actor.id,
        action="clinician.created",
        detail={"clinician_id": clinician.id, "role": role.value},
    )
    return clinician


async def find_by_email(session: AsyncSession, email: str) -> Clinician | None:
    result = await session.execute(select(Clinician).where(Clinician.email == email.lower()))
    return result.scalar_one_or_none()


async def count_clinicians(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Clinician)) or 0)
