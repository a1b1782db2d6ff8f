"""Passkeys (WebAuthn, the `webauthn` package): registering one, and signing in with one
as the second factor. Phishing-resistant: the browser signs for this site's origin only.

Each session has at most one open challenge; it is deleted when answered, right or wrong,
so a signed assertion cannot be replayed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from telehealth.settings import Settings
from telehealth.storage.models import Clinician, Passkey, WebAuthnChallenge

CHALLENGE_LIFETIME = timedelta(minutes=5)
RP_NAME = "Telehealth"


class PasskeyRefused(Exception):
    """The passkey's answer does not check out (or its challenge is gone)."""


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """Who the browser signs for: the public host name and the allowed origins."""

    rp_id: str
    origins: list[str]

    @classmethod
    def of(cls, settings: Settings) -> RelyingParty:
        host = urlsplit(settings.public_base_url).hostname or "localhost"
        return cls(rp_id=host, origins=list(settings.allowed_origins))


async def _passkeys_of(session: AsyncSession, clinician_id: str) -> list[Passkey]:
    rows = await session.execute(select(Passkey).where(Passkey.clinician_id == clinician_id))
    return list(rows.scalars())


async def has_passkey(session: AsyncSession, clinician_id: str) -> bool:
    return bool(await _passkeys_of(session, clinician_id))


async def _open_challenge(
    session: AsyncSession, session_hash: str, purpose: str, challenge: bytes, now: datetime
) -> None:
    row = await session.get(WebAuthnChallenge, session_hash)
    if row is None:
        row = WebAuthnChallenge(session_hash=session_hash)
        session.add(row)
    row.purpose, row.challenge = purpose, bytes_to_base64url(challenge)
    row.expires_at = now + CHALLENGE_LIFETIME


async def _take_challenge(
    session: AsyncSession, session_hash: str, purpose: str, now: datetime
) -> bytes:
    row = await session.get(WebAuthnChallenge, session_hash)
    if row is None:
        raise PasskeyRefused("ask for the passkey again")
    await session.delete(row)
    if row.purpose != purpose or row.expires_at <= now:
        raise PasskeyRefused("ask for the passkey again")
    return base64url_to_bytes(row.challenge)


def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id)) for p in passkeys]


async def registration_options(
    session: AsyncSession, rp: RelyingParty, session_hash: str, clinician_id: str, now: datetime
) -> dict[str, Any]:
    clinician = await session.get(Clinician, clinician_id)
    if clinician is None:
        raise LookupError("the account is gone")
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=RP_NAME,
        user_name=clinician.email,
        user_id=clinician.id.encode(),
        user_display_name=clinician.display_name,
        exclude_credentials=_descriptors(await _passkeys_of(session, clinician.id)),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    await _open_challenge(session, session_hash, "register", options.challenge, now)
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


async def register_passkey(
    session: AsyncSession,
    rp: RelyingParty,
    session_hash: str,
    clinician_id: str,
    credential: dict[str, Any],
    now: datetime,
) -> None:
    challenge = await _take_challenge(session, session_hash, "register", now)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origins,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise PasskeyRefused("the passkey could not be registered") from None
    session.add(
        Passkey(
            credential_id=bytes_to_base64url(verified.credential_id),
            clinician_id=clinician_id,
            public_key=bytes_to_base64url(verified.credential_public_key),
            sign_count=verified.sign_count,
            created_at=now,
        )
    )


async def sign_in_options(
    session: AsyncSession, rp: RelyingParty, session_hash: str, clinician_id: str, now: datetime
) -> dict[str, Any]:
    options = generate_authentication_options(
        rp_id=rp.rp_id,
        allow_credentials=_descriptors(await _passkeys_of(session, clinician_id)),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    await _open_challenge(session, session_hash, "sign_in", options.challenge, now)
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


async def accept_passkey(
    session: AsyncSession,
    rp: RelyingParty,
    session_hash: str,
    clinician_id: str,
    credential: dict[str, Any],
    now: datetime,
) -> bool:
    """Whether `credential` is a right answer from one of this account's passkeys."""
    try:
        challenge = await _take_challenge(session, session_hash, "sign_in", now)
    except PasskeyRefused:
        return False
    passkey = await session.get(Passkey, str(credential.get("id", "")))
    if passkey is None or passkey.clinician_id != clinician_id:
        return False
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origins,
            credential_public_key=base64url_to_bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        return False
    passkey.sign_count, passkey.last_used_at = verified.new_sign_count, now
    return True
