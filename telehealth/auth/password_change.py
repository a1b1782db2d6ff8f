"""The first sign-in with a temporary password: a new password, then the usual next step."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import audit
from telehealth.auth.sessions import Principal, StaffSessionLimits, open_staff_session
from telehealth.auth.sign_in import SignedIn, SignInGuards, stage_after_own_password
from telehealth.staff_admin import change_own_password, checked_password_hash, get_staff
from telehealth.storage.models import Session, SessionStage, utcnow


async def replace_temporary_password(
    session: AsyncSession,
    guards: SignInGuards,
    principal: Principal,
    new_password: str,
    limits: StaffSessionLimits,
) -> SignedIn:
    """Set the account's own password; the session that proved only the temporary one ends
    and a new one opens at the stage the account's own password reaches (second factor,
    its setup, or signed in). Raises WeakPassword for a password that would not do."""
    assert principal.clinician_id is not None
    clinician = await get_staff(session, principal.clinician_id)
    # Off the event loop, like sign-in's password checks: the other requests and calls go on.
    password_hash = await asyncio.to_thread(checked_password_hash, clinician, new_password)
    change_own_password(session, clinician, password_hash)
    old = await session.get(Session, principal.session_hash)
    if old is not None:
        old.revoked_at = utcnow()
    stage, kinds = await stage_after_own_password(session, guards, clinician)
    token = open_staff_session(session, clinician, limits, stage)
    if stage == SessionStage.signed_in:
        audit.record(session, actor_type="clinician", actor_id=clinician.id, action="login")
    return SignedIn(clinician, token, stage, kinds)
