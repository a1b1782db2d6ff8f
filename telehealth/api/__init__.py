"""HTTP routes, one module per resource, gathered into one router."""

from __future__ import annotations

from fastapi import APIRouter

from telehealth.api import (
    admin,
    assistant,
    auth,
    consent,
    health,
    ice,
    intake,
    metrics,
    mfa,
    navigation,
    passkeys,
    password,
    patient,
    transcripts,
    visits,
)


def api_router() -> APIRouter:
    router = APIRouter()
    for module in (
        health,
        auth,
        mfa,
        passkeys,
        visits,
        patient,
        ice,
        consent,
        transcripts,
        intake,
        assistant,
        navigation,
        password,
        admin,
        metrics,
    ):
        router.include_router(module.router)
    return router
