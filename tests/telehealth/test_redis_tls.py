"""`rediss://` with an ACL user: a real TLS Redis on loopback, certificate checked.

The local redis-server is started with a TLS port only, a generated certificate, the
default user disabled and one ACL user limited to the service's keys (`telehealth*`).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis.asyncio as redis_async
from redis.exceptions import NoPermissionError

from signaling.errors import BackendUnavailable
from signaling.pubsub.redis_streams import RedisEventLog
from telehealth.clinicians import create_clinician
from tests.conftest import make_settings
from tests.telehealth.api_client import client_for, running_app
from tests.telehealth.live_server import free_port
from tests.tls_certificates import LoopbackCertificates, make_certificates

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)
USER, PASSWORD = "telehealth-app", "an ACL password with / and @ in it"
LOGIN_PASSWORD = "a long enough passphrase"
CHAT = "my chest feels tight since Monday"


class TlsRedis:
    def __init__(self, port: int, certificates: LoopbackCertificates) -> None:
        self.port = port
        self.certificates = certificates

    def url(self, *, user: str = USER, password: str = PASSWORD, verify: bool = True) -> str:
        query = (
            f"ssl_cert_reqs=required&ssl_ca_certs={self.certificates.ca}&ssl_check_hostname=true"
            if verify
            else "ssl_cert_reqs=none"
        )
        return f"rediss://{quote(user)}:{quote(password, safe='')}@localhost:{self.port}/0?{query}"


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[TlsRedis]:
    certificates = make_certificates(tmp_path / "tls", host="localhost")
    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--tls-port",
            str(port),
            "--tls-cert-file",
            str(certificates.server_cert),
            "--tls-key-file",
            str(certificates.server_key),
            "--tls-ca-cert-file",
            str(certificates.ca),
            "--tls-auth-clients",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
            "--user",
            "default",
            "off",
            "--user",
            USER,
            "on",
            f">{PASSWORD}",
            "~telehealth*",
            "+@all",
            "-@dangerous",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield TlsRedis(port, certificates)
    finally:
        server.terminate()
        server.communicate(timeout=10)


@pytest.mark.asyncio
async def test_the_service_runs_on_tls_redis_as_an_acl_user(
    tmp_path: Path, tls_redis: TlsRedis
) -> None:
    settings = make_settings(tmp_path, redis_url=tls_redis.url())
    async with running_app(settings) as app:
        async with app.state.services.database.session() as session:
            await create_clinician(
                session, email="ada@clinic.example", display_name="Dr Ada", password=LOGIN_PASSWORD
            )
        # Sign-in throttling counts in Redis too: a wrong and a right password.
        async with client_for(app) as client:
            wrong = await client.post(
                "/api/auth/login", json={"email": "ada@clinic.example", "password": "nope" * 4}
            )
            assert wrong.status_code == 401
            right = await client.post(
                "/api/auth/login",
                json={"email": "ada@clinic.example", "password": LOGIN_PASSWORD},
            )
            assert right.status_code == 200, right.text
        events = app.state.services.events
        assert isinstance(events, RedisEventLog)
        await events.append("visit:tls", json.dumps({"type": "chat", "text": CHAT}).encode())
        async with asyncio.timeout(5), events.subscribe("visit:tls") as entries:
            async for entry in entries:
                assert json.loads(entry)["text"] == CHAT
                break

    client = redis_async.Redis.from_url(tls_redis.url())
    try:
        stored = await client.xrange("telehealth:signaling:visit:tls")
        assert stored and CHAT.encode() not in stored[0][1][b"d"]
        throttle_keys = [key async for key in client.scan_iter(match="telehealth-login*")]
        assert throttle_keys  # the sign-in throttle counted the failure there
        # The ACL holds: this user may not touch keys outside the service's.
        with pytest.raises(NoPermissionError):
            await client.set("someone-else:key", b"x")
    finally:
        await client.aclose()


@pytest.mark.asyncio
async def test_a_wrong_password_an_unknown_ca_or_plain_text_are_refused(
    tmp_path: Path, tls_redis: TlsRedis
) -> None:
    other_ca = make_certificates(tmp_path / "other")
    attempts = [
        tls_redis.url(password="not the password"),
        tls_redis.url(user="default", password=""),
        tls_redis.url().replace(str(tls_redis.certificates.ca), str(other_ca.ca)),
        f"redis://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{tls_redis.port}/0",
    ]
    for url in attempts:
        log = RedisEventLog(url, timeout_s=2.0)
        with pytest.raises(BackendUnavailable):
            await log.connect()
        await log.close()
