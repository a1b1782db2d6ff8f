"""One settings class for the whole service, read from TELEHEALTH_* and `.env`."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import ssl
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from signaling.pubsub.base import MAX_ENTRY_BYTES
from telehealth.private_files import ensure_private_dir, restrict_existing, write_private_file_once
from telehealth.storage.database_key import DATABASE_KEY_FILE, DatabaseKey
from telehealth.storage.postgres_tls import postgres_ssl_argument
from telehealth.tls.files import check_tls_files

ENV_PREFIX = "TELEHEALTH_"

# Values that look like a secret but are well known; refused in production.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "changethis", "secret", "password", "dev", "test", "example"}
)
MIN_SECRET_LENGTH = 32


def origin_of(url: str) -> str:
    """The origin (scheme://host[:port]) of a URL, as browsers send it in `Origin`."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not an http:// or https:// origin")
    return f"{parts.scheme}://{parts.netloc}".lower()


def _comma_list(value: object) -> object:
    """Accept `a,b,c` from the environment as well as a JSON list."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    # The embedded (SQLite) database's encryption key: 64 hex characters (32 random bytes,
    # `openssl rand -hex 32`); unset, one is generated into `var/database_key` (0600).
    database_key: SecretStr | None = None
    # PostgreSQL TLS (libpq's names): verify-full checks the chain against sslrootcert and
    # the host name; the client certificate pair is optional.
    database_sslmode: (
        Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None
    ) = None
    database_sslrootcert: Path | None = None
    database_sslcert: Path | None = None
    database_sslkey: Path | None = None
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str = ""
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    secret_key: SecretStr | None = None

    ice_servers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    turn_secret: SecretStr | None = None
    # Short: a credential handed out outlives the visit by at most this long.
    turn_credential_ttl_s: int = Field(default=600, ge=60, le=3600)
    # "relay" sends all media through the TURN relay: neither side learns the other's
    # address, and networks that allow only the relay still work.
    ice_transport_policy: Literal["all", "relay"] = "all"

    speech_engine: Literal["auto", "vosk", "whisper", "off"] = "auto"
    speech_language: str = Field(default="en", pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
    vosk_model: Path | None = None
    whisper_model: Path | None = None
    models_dir: Path = Path("models")
    tts_voice: str | None = None
    tts_rate_wpm: int = Field(default=175, ge=80, le=450)

    intake_questionnaire: Path | None = None
    emergency_number: str | None = Field(default=None, pattern=r"^[0-9+*#]{2,15}$")
    wake_phrase: str = Field(default="assistant", min_length=3, max_length=40)
    # Speech assistant peers one visit may hold in a process, and one person of it (a
    # visit's patient is one person, however many sessions they open).
    assistant_peers_per_visit: int = Field(default=4, ge=1, le=32)
    assistant_peers_per_person: int = Field(default=3, ge=1, le=32)

    # Retention periods (telehealth/retention): transcripts and chat, then the intake (its
    # versions too) from the visit's end; patient sessions and invites from when they
    # ended or expired; a visit's room event log from its end (checked at each daily run).
    retention_days: int = Field(default=365, ge=1, le=3650)
    retention_intake_days: int = Field(default=365, ge=1, le=3650)
    retention_patient_session_days: int = Field(default=30, ge=1, le=3650)
    retention_invite_days: int = Field(default=30, ge=1, le=3650)
    retention_room_log_hours: int = Field(default=24, ge=1, le=24 * 30)
    # Audit events are kept six years (HIPAA 164.316(b)(2)) unless the clinic says longer.
    retention_audit_days: int = Field(default=2190, ge=1, le=36500)
    invite_ttl_hours: int = Field(default=24, ge=1, le=24 * 30)
    session_ttl_minutes: int = Field(default=480, ge=5, le=24 * 60)
    # A staff session also ends after this long without activity, and can never be extended
    # past `session_max_hours` after its sign-in.
    staff_idle_timeout_minutes: int = Field(default=15, ge=2, le=24 * 60)
    session_max_hours: int = Field(default=12, ge=1, le=7 * 24)

    # Sign-in throttling: failures per account (the last tier is the lockout) and per address.
    login_lockout_failures: int = Field(default=10, ge=3, le=100)
    login_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_address_failures: int = Field(default=30, ge=5, le=10_000)
    # Staff must set up a second factor before anything else; unset: on in production only.
    require_mfa: bool | None = None
    # argon2 checks that may run at once (each takes a core for tens of milliseconds);
    # unset: one per core but one, so the event loop always has a core to answer on.
    password_hash_concurrency: int | None = Field(default=None, ge=1, le=64)
    # Requests whose body is larger are refused with 413 before it is read.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (uvicorn's
    # forwarded_allow_ips); without one the client address is the peer's.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A PEM certificate (chain) and its private key: `telehealth serve` then speaks https
    # itself (telehealth/tls/). Both or neither; behind a proxy that ends TLS, neither.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Addresses or networks (CIDR) that may scrape /metrics without signing in, e.g. the
    # Prometheus server; anyone else needs an admin session.
    metrics_allowed_addresses: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Each visit's room log (memory or Redis): its oldest entries are trimmed past either
    # bound. A call of an hour logs well under 1 MB; the log is deleted when the call ends.
    room_log_max_bytes: int = Field(
        default=8 * 1024 * 1024, ge=MAX_ENTRY_BYTES, le=1024 * 1024 * 1024
    )
    room_log_max_entries: int = Field(default=20_000, ge=100, le=1_000_000)

    @field_validator(
        "allowed_origins",
        "ice_servers",
        "trusted_proxies",
        "metrics_allowed_addresses",
        mode="before",
    )
    @classmethod
    def _split_list(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("database_key")
    @classmethod
    def _hex_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not DatabaseKey.is_valid(value.get_secret_value()):
            raise ValueError("must be 64 hexadecimal characters (openssl rand -hex 32)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "memory://")):
            raise ValueError("must start with redis://, rediss:// or memory://")
        return value or None

    @field_validator("public_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        return [origin_of(url) for url in value]

    @field_validator("metrics_allowed_addresses")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    @field_validator("ice_servers")
    @classmethod
    def _ice_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("stun:", "turn:", "turns:")):
                raise ValueError(f"{url!r} is not a stun:, turn: or turns: URL")
        return value

    @model_validator(mode="after")
    def _relay_needs_turn(self) -> Settings:
        if self.ice_transport_policy == "relay" and not (
            self.turn_secret
            and any(url.startswith(("turn:", "turns:")) for url in self.ice_servers)
        ):
            raise ValueError(
                "ice_transport_policy: relay needs a turn: or turns: URL in ice_servers "
                "and a turn_secret"
            )
        return self

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'telehealth.db'}"
        check_tls_files(self.tls_cert, self.tls_key)
        if not self.public_base_url:
            shown_host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
            scheme = "https" if self.tls_cert else "http"
            self.public_base_url = f"{scheme}://{shown_host}:{self.port}"
        if not self.allowed_origins:
            self.allowed_origins = [origin_of(self.public_base_url)]
        if self.env == "production":
            self._refuse_placeholders()
        self._check_postgres_tls()
        return self

    def _check_postgres_tls(self) -> None:
        """Fail at start-up, naming the setting, rather than at the first connection."""
        try:
            self.postgres_ssl()
        except ValueError as error:
            raise ValueError(f"database_sslmode: {error}") from None
        except (OSError, ssl.SSLError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise ValueError(
                f"database_sslrootcert: cannot load the TLS files ({reason})"
            ) from None

    def _refuse_placeholders(self) -> None:
        secret = self.secret_key.get_secret_value() if self.secret_key else None
        if secret is not None and (
            secret.lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH
        ):
            raise ValueError(
                f"secret_key: a placeholder or short secret is refused in production "
                f"(use at least {MIN_SECRET_LENGTH} random characters)"
            )
        turn = self.turn_secret.get_secret_value() if self.turn_secret else None
        if turn is not None and turn.lower() in PLACEHOLDER_SECRETS:
            raise ValueError("turn_secret: a placeholder secret is refused in production")

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def serves_https(self) -> bool:
        return self.public_base_url.startswith("https://")

    @property
    def second_factor_required(self) -> bool:
        return self.require_mfa if self.require_mfa is not None else self.env == "production"

    @property
    def password_checks_at_once(self) -> int:
        if self.password_hash_concurrency is not None:
            return self.password_hash_concurrency
        return max(1, min(4, (os.cpu_count() or 2) - 1))

    @property
    def pubsub_url(self) -> str:
        return self.redis_url or "memory://"

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once into the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        ensure_private_dir(self.data_dir)
        path = self.data_dir / "secret_key"
        if path.exists():
            restrict_existing([path])
            return path.read_text(encoding="utf-8").strip()
        return write_private_file_once(path, secrets.token_urlsafe(48))

    def resolved_database_key(self) -> DatabaseKey:
        """The SQLite database's key: the setting, or one generated once into `var/`."""
        if self.database_key is not None:
            return DatabaseKey(self.database_key.get_secret_value().lower(), from_setting=True)
        ensure_private_dir(self.data_dir)
        path = self.database_key_file
        if path.exists():
            restrict_existing([path])
            return DatabaseKey(path.read_text(encoding="utf-8").strip(), from_setting=False)
        generated = DatabaseKey.generate()
        key = DatabaseKey(write_private_file_once(path, generated.hex))
        if key != generated:
            return key  # another process generated it a moment earlier
        logging.getLogger("telehealth.settings").warning(
            "generated the database key into %s: back it up apart from the database; "
            "without it the database cannot be read",
            path,
        )
        return key

    @property
    def database_key_file(self) -> Path:
        return self.data_dir / DATABASE_KEY_FILE

    def postgres_ssl(self) -> ssl.SSLContext | str | None:
        """What asyncpg's `ssl` argument gets, from the database_ssl* settings."""
        return postgres_ssl_argument(
            self.database_sslmode,
            root_cert=self.database_sslrootcert,
            client_cert=self.database_sslcert,
            client_key=self.database_sslkey,
        )


class SettingsError(Exception):
    """Settings could not be loaded; the message is one line naming the setting."""


def describe_validation_error(error: ValidationError) -> str:
    first = error.errors()[0]
    location = [str(part) for part in first["loc"]]
    message = str(first["msg"]).removeprefix("Value error, ")
    if location:
        name = ENV_PREFIX + location[0].upper()
        return f"invalid setting {name}: {message}"
    # A model-level check names its setting in the message ("secret_key: ...").
    field, _, rest = message.partition(": ")
    if rest:
        return f"invalid setting {ENV_PREFIX}{field.upper()}: {rest}"
    return f"invalid settings: {message}"


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None
