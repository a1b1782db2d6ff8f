"""A real uvicorn server on loopback, in the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from telehealth.app import create_app
from telehealth.serving import uvicorn_options
from telehealth.settings import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[FastAPI]:
    """Serve the app on settings.port as `telehealth serve` does."""
    app = create_app(settings)
    # The options of `telehealth serve` itself (forwarded headers, TLS, websockets).
    options = {**uvicorn_options(settings), "host": "127.0.0.1", "lifespan": "on"}
    config = uvicorn.Config(app, **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    try:
        yield app
    finally:
        server.should_exit = True
        async with asyncio.timeout(20):
            await task
