"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from telehealth.storage.models import Visit, VisitStatus
from telehealth.visits.patient_presence import PatientPresence
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
    # The name the patient typed when they opened the link (null until then): the clinician
    # sees it beside `patient_label`, the name the clinic scheduled.
    patient_name: str | None = None
    # The link was opened again on another device, which ended the earlier session.
    patient_rejoined: bool = False

    @classmethod
    def of(cls, visit: Visit, patient: PatientPresence | None = None) -> VisitOut:
        out = cls.model_validate(visit)
        if patient is None:
            return out
        return out.model_copy(
            update={"patient_name": patient.typed_name, "patient_rejoined": patient.rejoined}
        )


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
    # Tidied and checked by the service (telehealth/visits/patient_names.py), which says in
    # words what to change: it cannot pass for staff.
    display_name: str = Field(min_length=1, max_length=400)


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
