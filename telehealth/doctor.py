"""`telehealth doctor`: checks an installation the way an operator would, one line per problem.

Each check looks at one part (settings, TLS, database, Redis, TURN, speech models, `var/`,
disk) and returns the problems it found, as sentences that say what to do. A check that
cannot run (its part is not configured) returns nothing. Checks never print secrets and
never change anything, except that opening an existing database reads it.
"""

from __future__ import annotations

import asyncio
import inspect
import shutil
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from alembic.script import ScriptDirectory

from telehealth.ice import turn_credentials
from telehealth.serving import insecure_production_url
from telehealth.settings import PLACEHOLDER_SECRETS, Settings
from telehealth.speech import describe_models
from telehealth.storage import Database
from telehealth.storage.database import sqlite_path
from telehealth.storage.migrate import alembic_config, current_revision
from telehealth.tls.files import certificate_not_after

CERTIFICATE_WARNING = timedelta(days=14)
MIN_FREE_BYTES = 2 * 1024**3  # a day of transcripts is small; models and logs are not
MIN_SECRET_CHARS = 32
MIN_TURN_SECRET_CHARS = 24
NETWORK_TIMEOUT_S = 5.0
LISTED_FILES = 5


@dataclass(frozen=True, slots=True)
class Problem:
    check: str
    text: str

    def line(self) -> str:
        return f"{self.check}: {self.text}"


# Checks of files are plain functions (run in a thread); those of servers are coroutines.
Check = Callable[[Settings, datetime], list[str] | Awaitable[list[str]]]


def check_mode(settings: Settings, now: datetime) -> list[str]:
    del now
    if settings.env != "production":
        return [
            f"TELEHEALTH_ENV is {settings.env} (a demo account and open API docs): "
            "set TELEHEALTH_ENV=production"
        ]
    return []


def check_secrets(settings: Settings, now: datetime) -> list[str]:
    del now
    problems = []
    secret = settings.resolved_secret_key() if settings.secret_key else None
    if secret is not None and len(secret) < MIN_SECRET_CHARS:
        problems.append(f"TELEHEALTH_SECRET_KEY is shorter than {MIN_SECRET_CHARS} characters")
    if settings.turn_secret is not None:
        turn = settings.turn_secret.get_secret_value()
        if turn.lower() in PLACEHOLDER_SECRETS or len(turn) < MIN_TURN_SECRET_CHARS:
            problems.append(
                f"TELEHEALTH_TURN_SECRET is weak: use {MIN_TURN_SECRET_CHARS}+ random "
                "characters (openssl rand -hex 24), the same in coturn"
            )
    return problems


def check_tls(settings: Settings, now: datetime) -> list[str]:
    refused = insecure_production_url(settings)
    if refused is not None:
        return [refused]
    if settings.tls_cert is None:
        if settings.env == "production" and not settings.trusted_proxies:
            return [
                "no TLS: set TELEHEALTH_TLS_CERT/TELEHEALTH_TLS_KEY, or serve behind a TLS "
                "proxy named in TELEHEALTH_TRUSTED_PROXIES"
            ]
        return []
    expires = certificate_not_after(settings.tls_cert)
    if expires <= now:
        return [f"the certificate {settings.tls_cert} expired on {expires:%Y-%m-%d}"]
    if expires - now < CERTIFICATE_WARNING:
        days = (expires - now).days
        return [f"the certificate {settings.tls_cert} expires in {days} days: renew it"]
    return []


def _head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _missing_database(settings: Settings) -> str | None:
    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        return f"no database at {path} yet: start the server once or run `telehealth db upgrade`"
    return None


async def check_database(settings: Settings, now: datetime) -> list[str]:
    del now
    missing = await asyncio.to_thread(_missing_database, settings)
    if missing is not None:
        return [missing]  # opening it would create an empty one
    database = Database.for_settings(settings)
    try:
        await database.ping()
        current = await current_revision(database)
    except Exception as error:  # any driver's error: say it in one line
        return [str(error).splitlines()[0] if str(error) else type(error).__name__]
    finally:
        await database.close()
    head = _head_revision(settings.database_url)
    if current != head:
        return [
            f"the database is at migration {current or 'none'}, this version needs {head}: "
            "run `telehealth db upgrade`"
        ]
    return []


async def check_redis(settings: Settings, now: datetime) -> list[str]:
    del now
    if not settings.redis_url or settings.redis_url.startswith("memory://"):
        return []
    import redis.asyncio as redis

    client = redis.from_url(settings.redis_url, socket_timeout=NETWORK_TIMEOUT_S)
    where = urlsplit(settings.redis_url)
    try:
        async with asyncio.timeout(NETWORK_TIMEOUT_S):
            await client.ping()
    except Exception as error:
        address = f"{where.hostname}:{where.port or 6379}"
        return [f"Redis at {address} does not answer ({type(error).__name__})"]
    finally:
        await client.aclose()
    return []


def _turn_address(url: str) -> tuple[str, int, str]:
    """(host, port, transport) of a `turn:host[:port][?transport=udp|tcp]` URL."""
    scheme, _, rest = url.partition(":")
    location, _, query = rest.partition("?")
    host, _, port = location.rpartition(":") if location.count(":") == 1 else (location, "", "")
    transport = "tcp" if scheme == "turns" or "transport=tcp" in query else "udp"
    default = 5349 if scheme == "turns" else 3478
    return host.strip("[]"), int(port) if port else default, transport


async def _allocate(url: str, username: str, password: str) -> None:
    from aioice.turn import create_turn_endpoint

    host, port, transport = _turn_address(url)
    relay, _ = await create_turn_endpoint(
        asyncio.DatagramProtocol,
        (host, port),
        username=username,
        password=password,
        ssl=url.startswith("turns:"),
        transport=transport,
    )
    relay.close()


async def check_turn(settings: Settings, now: datetime) -> list[str]:
    turn = [url for url in settings.ice_servers if url.startswith(("turn:", "turns:"))]
    if not turn:
        return []
    if settings.turn_secret is None:
        return ["TURN servers are set but TELEHEALTH_TURN_SECRET is not: browsers get no relay"]
    username, password = turn_credentials(
        settings.turn_secret.get_secret_value(), "doctor", 60, now.timestamp()
    )
    problems = []
    for url in turn:
        try:
            async with asyncio.timeout(NETWORK_TIMEOUT_S):
                await _allocate(url, username, password)
        except Exception as error:
            problems.append(
                f"{url} refused a fresh credential or did not answer ({type(error).__name__}): "
                "check it runs with static-auth-secret equal to TELEHEALTH_TURN_SECRET"
            )
    return problems


def check_speech(settings: Settings, now: datetime) -> list[str]:
    del now
    if settings.speech_engine == "off":
        return []
    from voice.fetch import verify_models

    problems = []
    report = describe_models(settings)
    if report["problem"]:
        problems.append(str(report["problem"]))
    models_dir = Path(settings.models_dir)
    if models_dir.is_dir():
        for result in verify_models(models_dir):
            if not result.ok:
                problems.append(
                    f"the model {result.name} does not match its recorded digests: "
                    "fetch it again (`telehealth models fetch`)"
                )
    return problems


def _open_to_others(path: Path) -> bool:
    return bool(stat.S_IMODE(path.stat().st_mode) & 0o077)


def check_permissions(settings: Settings, now: datetime) -> list[str]:
    del now
    data_dir = Path(settings.data_dir)
    if not data_dir.exists():
        return []
    problems = []
    if _open_to_others(data_dir):
        problems.append(f"{data_dir} is open to other users: chmod 700 {data_dir}")
    loose = [
        path for path in sorted(data_dir.rglob("*")) if path.is_file() and _open_to_others(path)
    ]
    if loose:
        shown = ", ".join(str(path) for path in loose[:LISTED_FILES])
        more = f" and {len(loose) - LISTED_FILES} more" if len(loose) > LISTED_FILES else ""
        problems.append(f"files others may read: {shown}{more}: chmod 600 them")
    return problems


def check_disk(settings: Settings, now: datetime) -> list[str]:
    del now
    data_dir = Path(settings.data_dir)
    where = data_dir if data_dir.exists() else data_dir.parent
    usage = shutil.disk_usage(where)
    if usage.free < MIN_FREE_BYTES:
        return [f"only {usage.free // 1024**2} MiB free where {data_dir} is: free some space"]
    return []


# In this order: permissions before anything opens var/ (opening fixes its mode).
CHECKS: tuple[tuple[str, Check], ...] = (
    ("mode", check_mode),
    ("secrets", check_secrets),
    ("tls", check_tls),
    ("permissions", check_permissions),
    ("disk", check_disk),
    ("database", check_database),
    ("redis", check_redis),
    ("turn", check_turn),
    ("speech", check_speech),
)


async def examine(settings: Settings, now: datetime | None = None) -> list[Problem]:
    """Every problem of this installation; empty when it is ready."""
    now = now or datetime.now(UTC)
    problems: list[Problem] = []
    for name, check in CHECKS:
        try:
            if inspect.iscoroutinefunction(check):
                found = await check(settings, now)
            else:
                found = await asyncio.to_thread(check, settings, now)
        except Exception as error:  # a check that breaks is itself a problem
            found = [f"could not be checked ({type(error).__name__})"]
        problems += [Problem(name, text) for text in found]
    return problems
