"""Tables. Every change here comes with an Alembic revision in telehealth/migrations."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class VisitStatus(enum.StrEnum):
    scheduled = "scheduled"
    waiting = "waiting"
    in_call = "in_call"
    ended = "ended"
    cancelled = "cancelled"


class StaffRole(enum.StrEnum):
    """What a staff account may do: an admin manages accounts and reads the audit log."""

    admin = "admin"
    clinician = "clinician"


class Clinician(Base):
    """A staff account (clinician or admin; the table keeps its first name)."""

    __tablename__ = "clinicians"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    role: Mapped[str] = mapped_column(String(16), default=StaffRole.clinician.value)
    # Set for a password an admin chose: its first sign-in may only change it.
    must_change_password: Mapped[bool] = mapped_column(default=False)


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_clinician_scheduled", "clinician_id", "scheduled_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    clinician_id: Mapped[str] = mapped_column(ForeignKey("clinicians.id", ondelete="RESTRICT"))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[VisitStatus] = mapped_column(
        Enum(VisitStatus, name="visit_status", native_enum=False, length=16),
        default=VisitStatus.scheduled,
    )
    # A label the clinician recognises ("Mrs D., follow-up"); PHI, never logged.
    patient_label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # When retention deleted the visit's room event log: each visit's log is purged once.
    room_log_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Invite(Base):
    __tablename__ = "invites"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the token; the token itself is only ever shown once.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # When a patient last opened a session with it, and how many times: a link opened on a
    # second device ends the first device's session.
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    redemptions: Mapped[int] = mapped_column(default=0)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(String(16))  # clinician | patient | system
    actor_id: Mapped[str | None] = mapped_column(String(64), default=None)
    action: Mapped[str] = mapped_column(String(64))
    visit_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    # Identifiers and outcomes only, never PHI.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    # The caller's address (behind a trusted proxy, the forwarded one); None off the network.
    client_address: Mapped[str | None] = mapped_column(String(64), default=None)
    outcome: Mapped[str] = mapped_column(String(16), default="success")
    # The chain (telehealth/audit_chain.py): the hash of the event before, and this one's
    # SHA-256 over its fields and that hash. Set when the event is flushed.
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")


class AuditChainHead(Base):
    """The one row that serializes appends to the audit chain and says where it ends.

    `anchor_*` is where the kept trail starts: the last event a retention purge removed
    (0 and the genesis hash before any purge)."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    anchor_id: Mapped[int] = mapped_column(BigInteger, default=0)
    anchor_hash: Mapped[str] = mapped_column(String(64))


class SessionKind(enum.StrEnum):
    clinician = "clinician"
    patient = "patient"


class SessionStage(enum.StrEnum):
    """How far a sign-in has got; only `signed_in` sessions are let in anywhere.

    After the password, an account with a second factor is at `second_factor` until a code
    is given; one without, where a second factor is required, at `enroll` (it may only set
    one up)."""

    second_factor = "second_factor"
    enroll = "enroll"
    # A temporary password (set by an admin) was given: only changing it is allowed.
    change_password = "change_password"
    signed_in = "signed_in"


class Session(Base):
    """A login (clinician) or an opened invite (patient, scoped to one visit).

    A session ends at the earliest of `expires_at` (its lifetime, moved by extending),
    `idle_expires_at` (staff: moved by activity) and `max_expires_at` (staff: fixed at
    sign-in, never moved)."""

    __tablename__ = "sessions"

    # SHA-256 of the cookie value; the value itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # A public handle (the session list, ending one) that is not the secret's hash.
    id: Mapped[str] = mapped_column(String(32), unique=True, index=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(24), default=SessionStage.signed_in.value)
    clinician_id: Mapped[str | None] = mapped_column(
        ForeignKey("clinicians.id", ondelete="CASCADE"), default=None, index=True
    )
    visit_id: Mapped[str | None] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), default=None, index=True
    )
    # A patient session: the invite it was opened with (at most one live session each).
    invite_id: Mapped[str | None] = mapped_column(
        ForeignKey("invites.id", name="fk_sessions_invite_id", ondelete="CASCADE"),
        default=None,
        index=True,
    )
    display_name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Why it was revoked, when a page should say so (`EndReason` in auth/patient_sessions.py).
    end_reason: Mapped[str | None] = mapped_column(String(24), default=None)
    last_active_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    idle_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    max_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    def ends_at(self) -> datetime:
        """The earliest of the three ends."""
        ends = [self.expires_at, self.idle_expires_at, self.max_expires_at]
        return min(end for end in ends if end is not None)


class TotpFactor(Base):
    """A staff account's TOTP key (RFC 6238), encrypted; usable once `confirmed_at` is set."""

    __tablename__ = "totp_factors"

    clinician_id: Mapped[str] = mapped_column(
        ForeignKey("clinicians.id", ondelete="CASCADE"), primary_key=True
    )
    # AES-GCM under a key derived from the server secret; the plain key is shown only once.
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The last time step a code was accepted for: a code is never accepted twice.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger, default=None)


class RecoveryCode(Base):
    """One single-use recovery code of a staff account, stored only as a keyed hash."""

    __tablename__ = "recovery_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    clinician_id: Mapped[str] = mapped_column(
        ForeignKey("clinicians.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Passkey(Base):
    """A WebAuthn credential of a staff account: its public key and signature counter."""

    __tablename__ = "passkeys"

    credential_id: Mapped[str] = mapped_column(String(1400), primary_key=True)  # base64url
    clinician_id: Mapped[str] = mapped_column(
        ForeignKey("clinicians.id", ondelete="CASCADE"), index=True
    )
    public_key: Mapped[str] = mapped_column(Text)  # COSE key, base64url
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class WebAuthnChallenge(Base):
    """The one open WebAuthn challenge of a session (registering or signing in); used once."""

    __tablename__ = "webauthn_challenges"

    session_hash: Mapped[str] = mapped_column(
        ForeignKey("sessions.token_hash", ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[str] = mapped_column(String(16))
    challenge: Mapped[str] = mapped_column(String(128))  # base64url
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- Transcripts (telehealth/transcripts) ----------------------------------------------------


class TranscriptConsent(Base):
    """The patient's latest answer to "may captions be saved?"; history is in audit_events."""

    __tablename__ = "consents"

    visit_id: Mapped[str] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True
    )
    transcript: Mapped[bool] = mapped_column(default=False)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Hash of the patient session that answered (the session table's key), not a token.
    decided_by_session: Mapped[str] = mapped_column(String(64), default="")


class TranscriptSegment(Base):
    """One final recognized utterance. Its `text` is what the recognizer said, never edited."""

    __tablename__ = "transcript_segments"
    __table_args__ = (Index("ix_transcript_segments_visit_start", "visit_id", "start_s"),)

    # An integer key: SQLite's full-text index addresses rows by this rowid.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    speaker_role: Mapped[str] = mapped_column(String(16))
    speaker_name: Mapped[str] = mapped_column(String(200), default="")
    speaker_peer_id: Mapped[str] = mapped_column(String(64), default="")
    start_s: Mapped[float] = mapped_column()  # seconds from the start of the call
    end_s: Mapped[float] = mapped_column()
    text: Mapped[str] = mapped_column(Text)
    words: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    confidence: Mapped[float | None] = mapped_column(default=None)
    engine: Mapped[str] = mapped_column(String(32), default="")
    model: Mapped[str] = mapped_column(String(100), default="")
    language: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SegmentEdit(Base):
    """A clinician's correction of a segment; the newest one is the segment's current text."""

    __tablename__ = "segment_edits"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    segment_id: Mapped[int] = mapped_column(
        ForeignKey("transcript_segments.id", ondelete="CASCADE"), index=True
    )
    edited_text: Mapped[str] = mapped_column(Text)
    editor_clinician_id: Mapped[str] = mapped_column(
        ForeignKey("clinicians.id", ondelete="RESTRICT")
    )
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ChatMessage(Base):
    """A chat line typed during the visit; part of the visit record whatever the consent."""

    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_visit_sent", "visit_id", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    sender_role: Mapped[str] = mapped_column(String(16))
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    sender_peer_id: Mapped[str] = mapped_column(String(64), default="")
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IntakeResponse(Base):
    """A visit's symptom intake: the FHIR QuestionnaireResponse so far, and its red flags.

    `dialogue` holds what is needed to resume a spoken intake in any process (when it
    started and each reply with its time); it is cleared once the intake is complete.
    `revision` grows with every write, so two processes cannot both apply a reply.
    """

    __tablename__ = "intake_responses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # in-progress | completed
    source: Mapped[str] = mapped_column(String(8))  # voice | form
    # PHI: the answers. Never logged.
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary_lines: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    urgent: Mapped[bool] = mapped_column(default=False)
    flags: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    dialogue: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    revision: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class IntakeResponseVersion(Base):
    """One submitted intake (a completed form or voice dialogue), kept as it was sent.

    Versions are numbered 1, 2, ... per visit (the response's `meta.versionId`); the
    newest is also the visit's `IntakeResponse`. A version is never changed; only
    retention deletes it, with the rest of the visit's intake.
    """

    __tablename__ = "intake_response_versions"
    __table_args__ = (
        UniqueConstraint("visit_id", "version", name="uq_intake_response_versions_visit_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column()
    source: Mapped[str] = mapped_column(String(8))  # voice | form
    # PHI: the answers, with meta.versionId and meta.lastUpdated. Never logged.
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary_lines: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # The red flags this submission raised (the visit's row keeps those of every version).
    flags: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
