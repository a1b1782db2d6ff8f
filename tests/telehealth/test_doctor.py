"""`telehealth doctor` against a ready installation and against broken ones: each part it
checks is broken in turn and named in one line; a ready one passes every check."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from telehealth.doctor import CHECKS, Problem, examine
from telehealth.settings import Settings
from telehealth.storage import Database, upgrade_database
from telehealth.tls.dev_cert import make_dev_certificate
from tests.conftest import make_settings, requires_redis
from tests.coturn import TurnRelay, running_turn_relay
from tests.services import REDIS_URL

NOW = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)
SECRET = "s" * 20 + "-a-long-random-application-key"
TURN_SECRET = "a-shared-secret-of-the-relay-0123"


def _production(tmp_path: Path, *, issued: datetime = NOW, **overrides: object) -> Settings:
    """Production with a certificate made `issued` (valid 90 days from then)."""
    made = make_dev_certificate(tmp_path / "tls", ["clinic.test"], now=issued)
    values: dict[str, object] = {
        "env": "production",
        "secret_key": SECRET,
        "tls_cert": made.cert,
        "tls_key": made.key,
        "public_base_url": "https://clinic.test:8443",
    }
    values.update(overrides)
    return make_settings(tmp_path, **values)


async def _migrated(settings: Settings, revision: str = "head") -> Settings:
    database = Database.for_settings(settings)
    try:
        await upgrade_database(database, revision)
    finally:
        await database.close()
    return settings


def _by_check(problems: list[Problem]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in problems:
        found.setdefault(problem.check, []).append(problem.text)
    return found


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnRelay]:
    with running_turn_relay(tmp_path_factory.mktemp("turn"), secret=TURN_SECRET) as running:
        yield running


@pytest.mark.asyncio
async def test_a_ready_installation_passes_every_check(tmp_path: Path, relay: TurnRelay) -> None:
    settings = await _migrated(
        _production(tmp_path, ice_servers=[relay.url], turn_secret=TURN_SECRET)
    )
    assert await examine(settings, NOW) == []


@pytest.mark.asyncio
async def test_development_mode_and_weak_secrets_are_named(tmp_path: Path) -> None:
    settings = await _migrated(
        make_settings(tmp_path, env="development", turn_secret="short", secret_key="x" * 20)
    )
    found = _by_check(await examine(settings, NOW))
    assert found.keys() == {"mode", "secrets"}
    assert found["mode"] == [
        "TELEHEALTH_ENV is development (a demo account and open API docs): "
        "set TELEHEALTH_ENV=production"
    ]
    assert found["secrets"][0] == "TELEHEALTH_SECRET_KEY is shorter than 32 characters"
    assert found["secrets"][1].startswith("TELEHEALTH_TURN_SECRET is weak")


@pytest.mark.asyncio
async def test_a_certificate_close_to_its_end_or_past_it_is_named(tmp_path: Path) -> None:
    expiring = await _migrated(_production(tmp_path / "a", issued=NOW - timedelta(days=83)))
    found = _by_check(await examine(expiring, NOW))
    assert found == {"tls": [f"the certificate {expiring.tls_cert} expires in 7 days: renew it"]}
    expired = await _migrated(_production(tmp_path / "b", issued=NOW - timedelta(days=91)))
    assert _by_check(await examine(expired, NOW)) == {
        "tls": [f"the certificate {expired.tls_cert} expired on 2031-03-03"]
    }


@pytest.mark.asyncio
async def test_production_without_any_tls_is_named(tmp_path: Path) -> None:
    settings = await _migrated(
        make_settings(
            tmp_path, env="production", secret_key=SECRET, public_base_url="https://clinic.test"
        )
    )
    assert _by_check(await examine(settings, NOW)) == {
        "tls": [
            "no TLS: set TELEHEALTH_TLS_CERT/TELEHEALTH_TLS_KEY, or serve behind a TLS proxy "
            "named in TELEHEALTH_TRUSTED_PROXIES"
        ]
    }


@pytest.mark.asyncio
async def test_files_others_may_read_are_named(tmp_path: Path) -> None:
    settings = await _migrated(_production(tmp_path))
    data_dir = Path(settings.data_dir)
    os.chmod(data_dir, 0o755)
    (data_dir / "notes.txt").write_text("left by hand")
    os.chmod(data_dir / "notes.txt", 0o644)
    found = _by_check(await examine(settings, NOW))
    assert found["permissions"] == [
        f"{data_dir} is open to other users: chmod 700 {data_dir}",
        f"files others may read: {data_dir / 'notes.txt'}: chmod 600 them",
    ]


@pytest.mark.asyncio
async def test_a_missing_or_unmigrated_database_is_named(tmp_path: Path) -> None:
    missing = _production(tmp_path / "a")
    assert _by_check(await examine(missing, NOW))["database"] == [
        f"no database at {tmp_path / 'a' / 'var' / 'test.db'} yet: start the server once or "
        "run `telehealth db upgrade`"
    ]
    old = await _migrated(_production(tmp_path / "b"), revision="0005")
    (problem,) = _by_check(await examine(old, NOW))["database"]
    assert problem.startswith("the database is at migration 0005, this version needs ")
    assert problem.endswith(": run `telehealth db upgrade`")


@pytest.mark.asyncio
async def test_an_unreachable_redis_is_named(tmp_path: Path) -> None:
    settings = await _migrated(_production(tmp_path, redis_url="redis://127.0.0.1:1/0"))
    (problem,) = _by_check(await examine(settings, NOW))["redis"]
    assert problem.startswith("Redis at 127.0.0.1:1 does not answer (")


@requires_redis
@pytest.mark.asyncio
async def test_a_reachable_redis_passes(tmp_path: Path) -> None:
    settings = await _migrated(_production(tmp_path, redis_url=REDIS_URL))
    assert "redis" not in _by_check(await examine(settings, NOW))


@pytest.mark.asyncio
async def test_a_relay_that_refuses_the_services_credential_is_named(
    tmp_path: Path, relay: TurnRelay
) -> None:
    wrong = "not-the-secret-the-relay-was-given"
    settings = await _migrated(_production(tmp_path, ice_servers=[relay.url], turn_secret=wrong))
    assert _by_check(await examine(settings, NOW)) == {
        "turn": [
            f"{relay.url} refused a fresh credential or did not answer (TransactionFailed): "
            "check it runs with static-auth-secret equal to TELEHEALTH_TURN_SECRET"
        ]
    }


@pytest.mark.asyncio
async def test_a_language_without_a_model_is_named(tmp_path: Path) -> None:
    settings = await _migrated(
        _production(tmp_path, speech_engine="vosk", speech_language="fi", vosk_model=None)
    )
    (problem,) = _by_check(await examine(settings, NOW))["speech"]
    assert "fi" in problem


def _doctor(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-m", "telehealth", "doctor"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_prints_one_line_per_problem_and_exits_non_zero(tmp_path: Path) -> None:
    invalid = _doctor(tmp_path, TELEHEALTH_PORT="eighty")
    assert invalid.returncode == 1
    assert invalid.stdout.startswith("settings: invalid setting TELEHEALTH_PORT:")
    broken = _doctor(
        tmp_path, TELEHEALTH_ENV="development", TELEHEALTH_DATA_DIR=str(tmp_path / "var")
    )
    assert broken.returncode == 1
    lines = broken.stdout.splitlines()
    assert lines[0].startswith("mode: TELEHEALTH_ENV is development")
    assert lines[1].startswith("database: no database at ")
    assert lines[-1] == "2 problems found"
    assert len(CHECKS) == 9
