"""Clinician accounts."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.password_policy import check_new_password
from telehealth.security import hash_password
from telehealth.storage.models import Clinician


class ClinicianExists(ValueError):
    """A clinician with that email already exists."""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not (local and at and domain) or " " in email:
        raise ValueError(f"not an email address: {email!r}")
    return email


async def create_clinician(
    session: AsyncSession, *, email: str, display_name: str, password: str
) -> Clinician:
    email = normalise_email(email)
    check_new_password(password, user_inputs=[email, display_name])
    if await find_by_email(session, email) is not None:
        raise ClinicianExists(f"a clinician with email {email} already exists")
    clinician = Clinician(
        email=email, display_name=display_name.strip(), password_hash=hash_password(password)
    )
    session.add(clinician)
    await session.flush()
    audit.record(
        session,
        actor_type="system",
        actor_id=None,
        action="clinician.created",
        detail={"clinician_id": clinician.id},
    )
    return clinician


async def find_by_email(session: AsyncSession, email: str) -> Clinician | None:
    result = await session.execute(select(Clinician).where(Clinician.email == email.lower()))
    return result.scalar_one_or_none()


async def count_clinicians(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Clinician)) or 0)
