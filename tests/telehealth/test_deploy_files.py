"""The shipped deployment files (deploy/systemd, deploy/nginx) against the app they run:
every hardening directive of the units present, `systemd-analyze verify` clean, and the
nginx values that must follow the app's (body limit, websocket and keep-alive timeouts)
still following them. tests/browser/test_behind_nginx.py runs the nginx file for real."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import uvicorn

from signaling.roster import RoomLimits
from telehealth.settings import Settings

REPOSITORY = Path(__file__).resolve().parents[2]
SYSTEMD = REPOSITORY / "deploy" / "systemd"
NGINX_CONFIG = REPOSITORY / "deploy" / "nginx" / "telehealth.conf"
INSTALL_DIR = "/opt/telehealth"
SERVER_UNIT = "telehealth@.service"
MIGRATE_UNIT = "telehealth-migrate.service"

# What both units must say, exactly (docs/deployment.md explains each).
HARDENING = {
    "User": "telehealth",
    "Group": "telehealth",
    "EnvironmentFile": "/etc/telehealth/telehealth.env",
    "ReadWritePaths": f"{INSTALL_DIR}/var",
    "UMask": "0077",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "SystemCallArchitectures": "native",
    "SystemCallFilter": "@system-service",
}


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """Sections of a unit file, each key with every value it was given (systemd allows
    repeating a key)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in (SYSTEMD / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, f"{name}: a setting before any section: {line}"
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


@pytest.mark.parametrize("name", [SERVER_UNIT, MIGRATE_UNIT])
def test_units_carry_every_hardening_directive(name: str) -> None:
    service = unit(name)["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == [value], f"{name}: {key}={service.get(key)}"
    assert service["WorkingDirectory"] == [INSTALL_DIR]
    assert not any(key.startswith("MemoryDenyWriteExecute") for key in service)


def test_server_unit_is_one_loopback_instance_per_port_that_restarts() -> None:
    sections = unit(SERVER_UNIT)
    service = sections["Service"]
    assert service["ExecStart"] == [f"{INSTALL_DIR}/.venv/bin/telehealth serve"]
    assert service["Environment"] == ["TELEHEALTH_HOST=127.0.0.1", "TELEHEALTH_PORT=%i"]
    assert service["Restart"] == ["on-failure"]
    assert "telehealth-migrate.service" in sections["Unit"]["After"][0].split()
    # uvicorn's graceful shutdown (10 s in `telehealth serve`) fits inside the stop timeout.
    assert int(service["TimeoutStopSec"][0]) > 10
    assert sections["Install"]["WantedBy"] == ["multi-user.target"]
    migrate = unit(MIGRATE_UNIT)["Service"]
    assert migrate["Type"] == ["oneshot"]
    assert migrate["ExecStart"] == [f"{INSTALL_DIR}/.venv/bin/telehealth db upgrade"]


def test_example_settings_write_only_where_the_units_allow() -> None:
    lines = (SYSTEMD / "telehealth.env.example").read_text(encoding="utf-8").splitlines()
    values = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert values["TELEHEALTH_DATA_DIR"] == HARDENING["ReadWritePaths"]
    assert values["TELEHEALTH_ENV"] == "production"
    assert values["TELEHEALTH_PUBLIC_BASE_URL"].startswith("https://")
    assert values["TELEHEALTH_TRUSTED_PROXIES"] == "127.0.0.1,::1"
    assert values["TELEHEALTH_SECRET_KEY"] == ""  # to be filled in, never shipped


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
requires_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed"
)


def _installed_copy(folder: Path) -> Path:
    """The units with this checkout (and its .venv) in place of /opt/telehealth, since
    `verify` checks that ExecStart exists."""
    assert (REPOSITORY / ".venv" / "bin" / "telehealth").exists(), "run scripts/setup first"
    for name in (SERVER_UNIT, MIGRATE_UNIT):
        text = (SYSTEMD / name).read_text(encoding="utf-8")
        (folder / name).write_text(text.replace(INSTALL_DIR, str(REPOSITORY)), encoding="utf-8")
    return folder


@requires_systemd_analyze
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    folder = _installed_copy(tmp_path)
    assert SYSTEMD_ANALYZE is not None
    checked = subprocess.run(
        [
            SYSTEMD_ANALYZE,
            "verify",
            str(folder / "telehealth@8001.service"),
            str(folder / MIGRATE_UNIT),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Any warning (an unknown key, a key in the wrong section) is printed: none may be.
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")


@requires_systemd_analyze
def test_systemd_rates_the_server_unit_well_confined(tmp_path: Path) -> None:
    folder = _installed_copy(tmp_path)
    assert SYSTEMD_ANALYZE is not None
    rated = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=true", str(folder / "telehealth@8001.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", rated.stdout)
    assert found is not None, rated.stdout + rated.stderr
    # 1.7 with systemd 252 (0 is fully confined, 10 not at all; below 2 is "OK").
    assert float(found.group(1)) < 2.0


def nginx_directives(location: str | None = None) -> dict[str, list[str]]:
    """Directive values of the https server (its own, outside locations), or of one of its
    locations. Quoted values with a `;` inside are not needed here and come out cut."""
    text = re.sub(r"#.*", "", NGINX_CONFIG.read_text(encoding="utf-8"))
    https_server = text[text.rindex("\nserver {") + len("\nserver {") :]
    assert "listen 443 ssl" in https_server
    if location is None:
        body = re.sub(r"location [^{]*\{.*?\}", "", https_server, flags=re.DOTALL)
    else:
        found = re.search(rf"location {re.escape(location)} \{{(.*?)\}}", https_server, re.DOTALL)
        assert found is not None, location
        body = found.group(1)
    directives: dict[str, list[str]] = {}
    for statement in body.split(";"):
        words = statement.split()
        if words and words[0] != "}":
            directives.setdefault(words[0], []).append(" ".join(words[1:]))
    return directives


def _seconds(value: str) -> float:
    number, unit_ = re.fullmatch(r"(\d+)(s|m)?", value).groups()  # type: ignore[union-attr]
    return float(number) * (60 if unit_ == "m" else 1)


def test_nginx_body_limit_is_the_apps() -> None:
    default = Settings.model_fields["max_body_bytes"].default
    (limit,) = nginx_directives()["client_max_body_size"]
    assert limit == f"{default // (1024 * 1024)}m"
    assert nginx_directives()["client_body_buffer_size"] == [limit]


def test_nginx_websocket_timeout_lets_the_app_decide_who_is_lost() -> None:
    heartbeat_s = RoomLimits().heartbeat_timeout_s
    ping_interval_s = heartbeat_s / 3  # what `welcome` announces as ping_interval_s
    websocket = nginx_directives("/ws/")
    (read_timeout,) = websocket["proxy_read_timeout"]
    assert _seconds(read_timeout) > heartbeat_s > 2 * ping_interval_s
    assert websocket["proxy_set_header"][-2:] == [
        "Upgrade $http_upgrade",
        "Connection $telehealth_connection",
    ]
    # The forwarded headers are repeated: a location's own proxy_set_header drops the server's.
    assert set(nginx_directives()["proxy_set_header"]) - {'Connection ""'} <= set(
        websocket["proxy_set_header"]
    )


def test_nginx_drops_idle_upstream_connections_before_uvicorn_does() -> None:
    uvicorn_keep_alive = inspect.signature(uvicorn.Config).parameters["timeout_keep_alive"]
    text = NGINX_CONFIG.read_text(encoding="utf-8")
    upstream = re.search(r"^upstream telehealth \{(.*?)^\}", text, re.MULTILINE | re.DOTALL)
    assert upstream is not None
    found = re.search(r"^\s*keepalive_timeout (\w+);", upstream.group(1), re.MULTILINE)
    assert found is not None
    assert _seconds(found.group(1)) < uvicorn_keep_alive.default


def test_nginx_guards_against_slow_clients_and_hides_its_version() -> None:
    server = nginx_directives()
    for name in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        assert 0 < _seconds(server[name][0]) <= 30, name
    assert server["server_tokens"] == ["off"]
    assert server["ssl_protocols"] == ["TLSv1.2 TLSv1.3"]
    assert server["proxy_set_header"][:4] == [
        "Host $host",
        "X-Forwarded-For $remote_addr",
        "X-Forwarded-Proto $scheme",
        "X-Forwarded-Host $host",
    ]
