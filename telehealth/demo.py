"""A demo clinician and visit, so a newcomer can try a visit at once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from telehealth.clinicians import create_clinician, find_by_email
from telehealth.security import hash_password
from telehealth.settings import Settings
from telehealth.storage import Database
from telehealth.storage.models import utcnow
from telehealth.visits.service import create_visit, invite_url

DEMO_EMAIL = "demo@clinic.example"
DEMO_NAME = "Dr. Demo"


@dataclass(frozen=True, slots=True)
class DemoLogin:
    email: str
    password: str
    invite_url: str
    dashboard_url: str


async def create_demo(database: Database, settings: Settings) -> DemoLogin:
    """(Re)set the demo clinician's password and schedule a visit starting now."""
    password = secrets.token_urlsafe(12)
    async with database.session() as session:
        clinician = await find_by_email(session, DEMO_EMAIL)
        if clinician is None:
            clinician = await create_clinician(
                session, email=DEMO_EMAIL, display_name=DEMO_NAME, password=password
            )
        else:
            clinician.password_hash = hash_password(password)
        _, invite = await create_visit(
            session,
            clinician_id=clinician.id,
            scheduled_at=utcnow() + timedelta(minutes=5),
            patient_label="Demo patient",
            invite_ttl=timedelta(hours=settings.invite_ttl_hours),
        )
    return DemoLogin(
        email=DEMO_EMAIL,
        password=password,
        invite_url=invite_url(settings.public_base_url, invite.token),
        dashboard_url=f"{settings.public_base_url}/clinician",
    )


def describe_demo(demo: DemoLogin) -> str:
    return (
        "Demo ready.\n"
        f"  Clinician login:  {demo.dashboard_url}\n"
        f"    email:          {demo.email}\n"
        f"    password:       {demo.password}\n"
        f"  Patient invite:   {demo.invite_url}\n"
    )
