"""The action registry for the browser: phrases, shortcuts and pages of every action."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from telehealth.deps import ServicesDep, SettingsDep
from telehealth.navigation.actions import Page
from telehealth.navigation.views import registry_view

router = APIRouter(prefix="/api/navigation", tags=["navigation"])


class ActionOut(BaseModel):
    id: str
    phrases: list[str]
    shortcut: str
    description: str
    pages: list[Page]
    confirm: str | None
    confirmation_answer: bool
    opposite: str | None
    performed_by_assistant: bool  # the voice assistant does it (the page only shows it)


class PageOut(BaseModel):
    place: str
    help: str


class ActionRegistryOut(BaseModel):
    wake_phrase: str
    voice: bool  # the server recognizes speech (voice commands can be offered)
    pages: dict[Page, PageOut]
    actions: list[ActionOut]


@router.get("/actions")
async def navigation_actions(
    settings: SettingsDep,
    services: ServicesDep,
    page: Annotated[Page | None, Query(description="only the actions of this page")] = None,
) -> ActionRegistryOut:
    """Every action (or one page's) with phrases and shortcut, and each page's spoken help."""
    view = registry_view(settings.wake_phrase, page)
    return ActionRegistryOut.model_validate({**view, "voice": services.speech.enabled})
