from __future__ import annotations

import os
from pathlib import Path

import pytest

from telehealth.settings import SettingsError, load_settings
from tests.conftest import make_settings


def test_defaults_are_the_embedded_setup(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url="")
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'telehealth.db'}"
    assert settings.pubsub_url == "memory://"
    assert settings.public_base_url == "http://127.0.0.1:8000"
    assert settings.allowed_origins == ["http://127.0.0.1:8000"]
    assert settings.ice_servers == []


def test_lists_come_from_commas_or_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEHEALTH_ALLOWED_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("TELEHEALTH_ICE_SERVERS", '["stun:stun.clinic.example:3478"]')
    settings = load_settings()
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]
    assert settings.ice_servers == ["stun:stun.clinic.example:3478"]


def test_origins_are_compared_as_browsers_send_them(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        public_base_url="https://Clinic.Example/telehealth/",
        allowed_origins=["https://Clinic.Example:8443/", "http://127.0.0.1:8000"],
    )
    assert settings.allowed_origins == ["https://clinic.example:8443", "http://127.0.0.1:8000"]
    assert make_settings(
        tmp_path, public_base_url="https://Clinic.Example/telehealth/"
    ).allowed_origins == ["https://clinic.example"]


def test_staff_session_and_sign_in_defaults(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert settings.staff_idle_timeout_minutes == 15
    assert settings.session_max_hours == 12
    assert (settings.login_lockout_failures, settings.login_lockout_minutes) == (10, 15)
    assert settings.max_body_bytes == 1024 * 1024
    assert 1 <= settings.password_checks_at_once <= 4
    assert make_settings(tmp_path, password_hash_concurrency=3).password_checks_at_once == 3


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("TELEHEALTH_PORT", "70000", "TELEHEALTH_PORT"),
        ("TELEHEALTH_PORT", "eighty", "TELEHEALTH_PORT"),
        ("TELEHEALTH_DATABASE_URL", "mysql://x", "TELEHEALTH_DATABASE_URL"),
        ("TELEHEALTH_REDIS_URL", "http://x", "TELEHEALTH_REDIS_URL"),
        ("TELEHEALTH_SPEECH_ENGINE", "cloud", "TELEHEALTH_SPEECH_ENGINE"),
        ("TELEHEALTH_TTS_RATE_WPM", "900", "TELEHEALTH_TTS_RATE_WPM"),
        ("TELEHEALTH_ICE_SERVERS", "http://stun.example", "TELEHEALTH_ICE_SERVERS"),
        ("TELEHEALTH_ICE_TRANSPORT_POLICY", "direct", "TELEHEALTH_ICE_TRANSPORT_POLICY"),
        (
            "TELEHEALTH_METRICS_ALLOWED_ADDRESSES",
            "prometheus.lan",
            "TELEHEALTH_METRICS_ALLOWED_ADDRESSES",
        ),
        ("TELEHEALTH_RETENTION_DAYS", "0", "TELEHEALTH_RETENTION_DAYS"),
        ("TELEHEALTH_PUBLIC_BASE_URL", "ftp://x", "TELEHEALTH_PUBLIC_BASE_URL"),
        ("TELEHEALTH_ALLOWED_ORIGINS", "evil.example", "TELEHEALTH_ALLOWED_ORIGINS"),
        ("TELEHEALTH_STAFF_IDLE_TIMEOUT_MINUTES", "1", "TELEHEALTH_STAFF_IDLE_TIMEOUT_MINUTES"),
        ("TELEHEALTH_SESSION_MAX_HOURS", "0", "TELEHEALTH_SESSION_MAX_HOURS"),
        ("TELEHEALTH_LOGIN_LOCKOUT_FAILURES", "200", "TELEHEALTH_LOGIN_LOCKOUT_FAILURES"),
        ("TELEHEALTH_MAX_BODY_BYTES", "10", "TELEHEALTH_MAX_BODY_BYTES"),
        ("TELEHEALTH_PASSWORD_HASH_CONCURRENCY", "0", "TELEHEALTH_PASSWORD_HASH_CONCURRENCY"),
    ],
)
def test_invalid_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, named: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"invalid setting {named}:")
    assert "\n" not in message


@pytest.mark.parametrize("secret", ["changeme", "secret", "short-but-not-placeholder"])
def test_production_refuses_placeholder_secrets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEHEALTH_ENV", "production")
    monkeypatch.setenv("TELEHEALTH_SECRET_KEY", secret)
    with pytest.raises(SettingsError, match="invalid setting TELEHEALTH_SECRET_KEY"):
        load_settings()


def test_production_accepts_a_real_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEHEALTH_ENV", "production")
    monkeypatch.setenv("TELEHEALTH_SECRET_KEY", "x" * 20 + "9f8e7d6c5b4a39281706")
    assert load_settings().env == "production"


def test_development_accepts_a_placeholder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEHEALTH_SECRET_KEY", "changeme")
    assert load_settings().resolved_secret_key() == "changeme"


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("TELEHEALTH_PORT=8123\n")
    assert load_settings().port == 8123


def test_secret_key_is_generated_once_and_private(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = settings.resolved_secret_key()
    assert len(first) >= 48
    assert settings.resolved_secret_key() == first
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert make_settings(tmp_path).resolved_secret_key() == first
    assert os.environ.get("TELEHEALTH_SECRET_KEY") is None


def test_relay_only_media_needs_a_turn_relay(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEHEALTH_ICE_TRANSPORT_POLICY", "relay")
    monkeypatch.setenv("TELEHEALTH_ICE_SERVERS", "stun:stun.clinic.example:3478")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(
        "invalid setting TELEHEALTH_ICE_TRANSPORT_POLICY: relay needs a turn:"
    )
    monkeypatch.setenv("TELEHEALTH_ICE_SERVERS", "turn:turn.clinic.example:3478")
    monkeypatch.setenv("TELEHEALTH_TURN_SECRET", "a-long-shared-secret-for-the-relay")
    assert load_settings().ice_transport_policy == "relay"
