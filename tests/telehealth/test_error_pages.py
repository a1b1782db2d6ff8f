"""Browser navigations that fail get an HTML page; the API and other clients keep JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.telehealth.api_client import running_app

# What Chromium sends when the user follows a link or types an address.
NAVIGATION = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest_asyncio.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(make_settings(tmp_path)) as app:
        add_failing_routes(app)
        # The server's own answer to an unhandled error, not the exception itself.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield http


def add_failing_routes(app: FastAPI) -> None:
    def broken_page() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken-page", broken_page, methods=["GET"])
    app.add_api_route("/api/broken", broken_page, methods=["GET"])


@pytest.mark.asyncio
async def test_a_missing_page_is_an_html_404_with_the_site_furniture(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/no-such-page", headers={"Accept": NAVIGATION})
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert page.count("<h1>") == 1 and "<h1>Page not found</h1>" in page
    assert '<html lang="en">' in page and "<title>Page not found – Telehealth</title>" in page
    assert '<a class="skip-link" href="#main">' in page and '<main id="main">' in page
    assert "<header>" in page and '<a href="/">Go to the home page</a>' in page
    # The address is not repeated back: it may carry a token, and it is not markup we made.
    assert "no-such-page" not in page


@pytest.mark.asyncio
async def test_missing_static_files_and_wrong_methods_get_pages_too(
    client: httpx.AsyncClient,
) -> None:
    static = await client.get("/static/no-such-file.html", headers={"Accept": NAVIGATION})
    assert static.status_code == 404 and "<h1>Page not found</h1>" in static.text
    wrong_method = await client.delete("/clinician", headers={"Accept": NAVIGATION})
    assert wrong_method.status_code == 405
    assert "<h1>This page cannot be shown</h1>" in wrong_method.text
    assert wrong_method.headers["allow"] == "GET"


@pytest.mark.asyncio
async def test_the_api_and_clients_not_asking_for_html_keep_json(
    client: httpx.AsyncClient,
) -> None:
    for path, accept in [
        ("/api/no-such-thing", NAVIGATION),  # even a browser tab on the API gets JSON
        ("/no-such-page", "*/*"),  # fetch() and most HTTP clients
        ("/no-such-page", "application/json"),
        ("/no-such-page", "application/json, text/html;q=0.5"),
        ("/no-such-page", ""),
    ]:
        response = await client.get(path, headers={"Accept": accept})
        assert response.status_code == 404, (path, accept)
        assert response.headers["content-type"] == "application/json", (path, accept)
        assert response.json() == {"detail": "Not Found"}
    # The API's own errors are unchanged.
    unauthorised = await client.get("/api/auth/me", headers={"Accept": NAVIGATION})
    assert unauthorised.status_code == 401
    assert unauthorised.json() == {"detail": "please sign in"}


@pytest.mark.asyncio
async def test_an_unhandled_error_is_a_500_page_or_json(client: httpx.AsyncClient) -> None:
    page = await client.get("/broken-page", headers={"Accept": NAVIGATION})
    assert page.status_code == 500
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Something went wrong</h1>" in page.text and "a bug" not in page.text

    for path, accept in [("/api/broken", NAVIGATION), ("/broken-page", "*/*")]:
        response = await client.get(path, headers={"Accept": accept})
        assert response.status_code == 500, (path, accept)
        assert response.json() == {"detail": "Internal Server Error"}
