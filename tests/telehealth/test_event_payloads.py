"""Room events stored in Redis are sealed with a subkey of the application key."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import redis.asyncio as redis_async

from signaling.errors import PayloadRejected
from signaling.pubsub.redis_streams import RedisEventLog
from telehealth.event_payloads import EventPayloadCipher, derive_payload_key
from tests.conftest import requires_redis
from tests.services import REDIS_URL

APPLICATION_KEY = "an application key shared by every process " + "k" * 8
PATIENT_NAME = "Jo Quillfeather"
CHAT = "my chest feels tight since Monday"
CAPTION = "penicillin gives me a rash"
EVENTS = [
    {"type": "joined", "display_name": PATIENT_NAME},
    {"type": "chat", "text": CHAT},
    {"type": "caption", "text": CAPTION},
]


def test_a_sealed_entry_opens_only_on_its_channel_with_the_same_key() -> None:
    cipher = EventPayloadCipher.from_application_key(APPLICATION_KEY)
    sealed = cipher.seal("visit:a", CHAT.encode())
    assert CHAT.encode() not in sealed and len(sealed) == 1 + 12 + len(CHAT) + 16
    assert cipher.seal("visit:a", CHAT.encode()) != sealed  # a fresh nonce every time
    same_key = EventPayloadCipher.from_application_key(APPLICATION_KEY)
    assert same_key.open("visit:a", sealed) == CHAT.encode()
    with pytest.raises(PayloadRejected):
        same_key.open("visit:b", sealed)
    with pytest.raises(PayloadRejected):
        EventPayloadCipher.from_application_key(APPLICATION_KEY + "x").open("visit:a", sealed)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(PayloadRejected):
        cipher.open("visit:a", tampered)
    with pytest.raises(PayloadRejected):
        cipher.open("visit:a", b"{}")


def test_the_subkey_is_derived_not_the_application_key_itself() -> None:
    subkey = derive_payload_key(APPLICATION_KEY)
    assert len(subkey) == 32
    assert subkey == derive_payload_key(APPLICATION_KEY)
    assert subkey != derive_payload_key(APPLICATION_KEY + "x")
    assert APPLICATION_KEY.encode()[:32] != subkey


WRITER = textwrap.dedent(
    """
    import asyncio, json, sys

    from signaling.pubsub.redis_streams import RedisEventLog
    from telehealth.event_payloads import EventPayloadCipher

    async def main() -> None:
        url, prefix, key = sys.argv[1:4]
        cipher = EventPayloadCipher.from_application_key(key)
        log = RedisEventLog(url, key_prefix=prefix, payload_codec=cipher)
        await log.connect()
        for line in sys.stdin:
            await log.append("visit:shared", line.strip().encode())
        await log.close()

    asyncio.run(main())
    """
)


@pytest_asyncio.fixture
async def key_prefix() -> AsyncIterator[str]:
    prefix = f"test:payloads:{uuid.uuid4().hex}:"
    yield prefix
    assert REDIS_URL is not None
    client = redis_async.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def _read(log: RedisEventLog, count: int, timeout_s: float) -> list[bytes]:
    got: list[bytes] = []
    try:
        async with asyncio.timeout(timeout_s), log.subscribe("visit:shared") as entries:
            async for entry in entries:
                got.append(entry)
                if len(got) == count:
                    break
    except TimeoutError:
        pass
    return got


@requires_redis
@pytest.mark.redis
@pytest.mark.asyncio
async def test_another_process_with_the_key_reads_events_redis_holds_sealed(
    key_prefix: str,
) -> None:
    assert REDIS_URL is not None
    lines = "".join(json.dumps(event) + "\n" for event in EVENTS)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        REDIS_URL,
        key_prefix,
        APPLICATION_KEY,
        stdin=subprocess.PIPE,
        env=env,
    )
    await asyncio.wait_for(process.communicate(lines.encode()), 30)
    assert process.returncode == 0

    client = redis_async.Redis.from_url(REDIS_URL)
    try:
        raw = b"".join(
            fields[b"d"] for _, fields in await client.xrange(key_prefix + "visit:shared")
        )
    finally:
        await client.aclose()
    assert len(raw) > 0
    for secret in (PATIENT_NAME, "Quillfeather", CHAT, "chest", CAPTION, "penicillin"):
        assert secret.encode() not in raw

    same_key = EventPayloadCipher.from_application_key(APPLICATION_KEY)
    reader = RedisEventLog(REDIS_URL, key_prefix=key_prefix, payload_codec=same_key)
    other_key = EventPayloadCipher.from_application_key("another deployment's key " + "o" * 20)
    stranger = RedisEventLog(REDIS_URL, key_prefix=key_prefix, payload_codec=other_key)
    await reader.connect()
    await stranger.connect()
    try:
        assert [json.loads(entry) for entry in await _read(reader, 3, 5)] == EVENTS
        assert await _read(stranger, 1, 0.5) == []
    finally:
        await reader.close()
        await stranger.close()


@requires_redis
@pytest.mark.redis
@pytest.mark.asyncio
async def test_a_revocation_announced_by_the_command_line_reaches_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command seals its announcement like the servers do, so they still hear it."""
    from telehealth.realtime import socket as socket_module
    from tests.telehealth.test_cli import environment
    from tests.telehealth.test_disable_closes_calls import servers
    from tests.telehealth.test_websocket import close_code, hello

    assert REDIS_URL is not None
    monkeypatch.setattr(socket_module, "SESSION_CHECK_S", 60.0)
    async with servers(tmp_path, 1, redis_url=REDIS_URL) as [clinic]:
        ada = await clinic.login("ada@clinic.example")
        visit_id, _ = await clinic.new_visit(ada)
        async with clinic.socket(visit_id, {"th_clinician": ada}) as doctor:
            await hello(doctor)
            settings = clinic.app.state.services.settings
            env = environment(
                tmp_path,
                TELEHEALTH_DATABASE_URL=settings.database_url,
                TELEHEALTH_SECRET_KEY=settings.secret_key.get_secret_value(),
                TELEHEALTH_REDIS_URL=REDIS_URL,
            )
            command = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "telehealth",
                "clinician",
                "disable",
                "--email",
                "ada@clinic.example",
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            _, stderr = await asyncio.wait_for(command.communicate(), 60)
            assert command.returncode == 0, stderr.decode()
            assert await close_code(doctor, within_s=5) == 4401
