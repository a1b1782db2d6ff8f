"""The app factory: start, probes, docs, pages, clean stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from telehealth.app import create_app
from telehealth.storage import DatabaseUnavailable
from tests.conftest import make_settings


@pytest_asyncio.fixture
async def client(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path, database_url=database_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.mark.asyncio
async def test_probes(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["database"]["ok"] is True
    assert body["database"]["dialect"] in {"sqlite", "postgresql"}


@pytest.mark.asyncio
async def test_pages_and_static_files(client: httpx.AsyncClient) -> None:
    index = await client.get("/")
    assert index.status_code == 200
    assert "<h1>" in index.text
    css = await client.get("/static/css/site.css")
    assert css.status_code == 200 and "prefers-reduced-motion" in css.text


@pytest.mark.asyncio
async def test_readyz_reports_a_lost_database(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    async with app.router.lifespan_context(app):
        await app.state.services.database.close()
        app.state.services.database.url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
        from telehealth.storage.database import create_engine

        app.state.services.database.engine = create_engine(app.state.services.database.url)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz")
        await app.state.services.database.close()
    assert response.status_code == 503
    assert response.json()["database"]["ok"] is False


@pytest.mark.asyncio
async def test_start_fails_clearly_without_a_database(tmp_path: Path) -> None:
    app: FastAPI = create_app(
        make_settings(tmp_path, database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    )
    with pytest.raises(DatabaseUnavailable, match="cannot reach the database at"):
        async with app.router.lifespan_context(app):
            pass


async def readyz_after_loading(client: httpx.AsyncClient) -> dict[str, Any]:
    """/readyz once the speech engine has finished loading (or failed to)."""
    for _ in range(600):
        body: dict[str, Any] = (await client.get("/readyz")).json()
        if body["speech"].get("problem") != "loading":
            return body
        await asyncio.sleep(0.1)
    raise AssertionError("the speech engine was still loading after 60 s")


@pytest.mark.slow
@pytest.mark.asyncio
async def test_readyz_waits_for_the_speech_engine_and_names_it(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, speech_engine="auto"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            body = await readyz_after_loading(client)
    speech = body["speech"]
    assert body["status"] == "ready"
    assert speech["active"]["engine"] == "whisper"
    assert speech["active"]["language"] == "en"
    assert speech["active"]["model"] == "whisper-tiny.en"


@pytest.mark.asyncio
async def test_readyz_reports_a_missing_model(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, speech_engine="vosk", speech_language="fr"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            body = await readyz_after_loading(client)
    assert body["status"] == "not_ready"
    assert "no vosk model for language 'fr'" in body["speech"]["problem"]
