"""Passkeys: adding one to a signed-in account, and the challenge for signing in with one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel

from telehealth import audit
from telehealth.auth.deps import CurrentClinician, HalfSignedIn
from telehealth.auth.passkeys import (
    PasskeyRefused,
    RelyingParty,
    register_passkey,
    registration_options,
    sign_in_options,
)
from telehealth.deps import NowDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/auth/mfa/passkey", tags=["auth"])


class NewPasskeyIn(BaseModel):
    # What navigator.credentials.create() gave, as PublicKeyCredential.toJSON() writes it.
    credential: dict[str, Any]


@router.post("/options")
async def new_passkey_options(
    principal: CurrentClinician, session: SessionDep, settings: SettingsDep, now: NowDep
) -> dict[str, Any]:
    """The options for navigator.credentials.create() (a new challenge for this session)."""
    assert principal.clinician_id is not None
    rp = RelyingParty.of(settings)
    return await registration_options(
        session, rp, principal.session_hash, principal.clinician_id, now
    )


@router.post("", status_code=status.HTTP_204_NO_CONTENT)
async def add_passkey(
    body: NewPasskeyIn,
    principal: CurrentClinician,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> None:
    """Keep the new passkey, once its answer to this session's challenge checks out."""
    assert principal.clinician_id is not None
    try:
        await register_passkey(
            session,
            RelyingParty.of(settings),
            principal.session_hash,
            principal.clinician_id,
            body.credential,
            now,
        )
    except PasskeyRefused as error:
        await session.commit()  # the challenge is used up, right or wrong
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    audit.record(
        session,
        actor_type="clinician",
        actor_id=principal.clinician_id,
        action="mfa.passkey_added",
    )


@router.post("/sign-in-options")
async def passkey_sign_in_options(
    half: HalfSignedIn, session: SessionDep, settings: SettingsDep, now: NowDep
) -> dict[str, Any]:
    """The options for navigator.credentials.get() in the second step of sign-in."""
    assert half.clinician_id is not None
    rp = RelyingParty.of(settings)
    return await sign_in_options(session, rp, half.session_hash, half.clinician_id, now)
