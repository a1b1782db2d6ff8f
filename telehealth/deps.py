"""FastAPI dependencies, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.services import Services
from telehealth.settings import Settings


def get_services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.database.session() as session:
        yield session


# scope="function": commit before the response is sent, so a client's next request (say,
# right after login) sees the write, and a failed commit is a 500, not a lost write.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def get_client_address(request: Request) -> str:
    # The peer's address, or the forwarded one when a trusted proxy set it (uvicorn does).
    return request.client.host if request.client else "unknown"


ClientAddressDep = Annotated[str, Depends(get_client_address)]


def current_time() -> datetime:
    # A dependency, so a test can fix "now" (what "today" means) instead of racing midnight.
    return datetime.now(UTC)


NowDep = Annotated[datetime, Depends(current_time)]
