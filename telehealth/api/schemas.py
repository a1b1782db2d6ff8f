"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from telehealth.storage.models import Visit, VisitStatus
from telehealth.visits.ranges import VisitRange


class LoginRequest(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class ClinicianOut(BaseModel):
    id: str
    email: str
    display_name: str
    role: str = "clinician"


class NewPasswordRequest(BaseModel):
    new_password: str = Field(min_length=1, max_length=1024)


class VisitCreate(BaseModel):
    scheduled_at: AwareDatetime
    patient_label: str = Field(default="", max_length=200)


class VisitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    scheduled_at: datetime
    status: VisitStatus
    patient_label: str
    started_at: datetime | None
    ended_at: datetime | None

    @classmethod
    def of(cls, visit: Visit) -> VisitOut:
        return cls.model_validate(visit)


class VisitWithInvite(BaseModel):
    visit: VisitOut
    invite_url: str
    invite_expires_at: datetime


class VisitList(BaseModel):
    range: VisitRange
    visits: list[VisitOut]


class InviteRequest(BaseModel):
    invite: str = Field(min_length=16, max_length=128)


class PatientSessionRequest(BaseModel):
    invite: str = Field(min_length=16, max_length=128)
    display_name: str = Field(min_length=1, max_length=100)


class PatientVisitOut(BaseModel):
    visit_id: str
    scheduled_at: datetime
    status: VisitStatus
    clinician_name: str
    display_name: str


class IceServersOut(BaseModel):
    ice_servers: list[dict[str, Any]] = Field(serialization_alias="iceServers")
    ice_transport_policy: Literal["all", "relay"] = Field(
        default="all", serialization_alias="iceTransportPolicy"
    )
