"""Debian's coturn on loopback, configured from the shipped deploy/coturn/turnserver.conf.

The test relay keeps every rule of the shipped file (shared-secret auth, quotas, denied
peer ranges) and replaces only where it listens, its secret and its logging. With
`reach_loopback` it also lets peers on 127.0.0.1 be reached, which is what two browsers
on one machine need; without it the shipped no-open-relay rules apply unchanged.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SHIPPED_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "coturn" / "turnserver.conf"
TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
STARTUP_TIMEOUT_S = 15.0
REALM = "turn.clinic.test"

# Lines of the shipped file that name the production machine: replaced for the test.
_REPLACED = {
    "static-auth-secret",
    "realm",
    "listening-ip",
    "relay-ip",
    "external-ip",
    "listening-port",
    "tls-listening-port",
    "min-port",
    "max-port",
    "cert",
    "pkey",
    "syslog",
    "log-file",
    "pidfile",
    "userdb",
}


@dataclass(frozen=True)
class TurnRelay:
    host: str
    port: int
    secret: str

    @property
    def url(self) -> str:
        return f"turn:{self.host}:{self.port}?transport=udp"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def relay_config(port: int, secret: str, directory: Path, *, reach_loopback: bool) -> str:
    """The shipped configuration with this machine's loopback addresses and a test secret."""
    kept = [
        line
        for line in SHIPPED_CONFIG.read_text().splitlines()
        if line.split("=", 1)[0].strip() not in _REPLACED
    ]
    relay_base = random.randrange(40_000, 60_000, 100)
    kept += [
        f"static-auth-secret={secret}",
        f"realm={REALM}",
        "listening-ip=127.0.0.1",
        "relay-ip=127.0.0.1",
        f"listening-port={port}",
        f"min-port={relay_base}",
        f"max-port={relay_base + 99}",
        "no-tls",  # the shipped TLS listener needs the clinic's certificate
        f"log-file={directory / 'turnserver.log'}",
        f"pidfile={directory / 'turnserver.pid'}",
        f"userdb={directory / 'turndb'}",  # REST credentials need no accounts; keep it here
    ]
    if reach_loopback:
        kept += ["allow-loopback-peers", "allowed-peer-ip=127.0.0.1"]
    return "\n".join(kept) + "\n"


def _answers_stun(port: int) -> bool:
    """Whether a STUN binding request to the relay's port gets a success response."""
    transaction = os.urandom(12)
    request = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.5)
        probe.sendto(request, ("127.0.0.1", port))
        try:
            response = probe.recv(2048)
        except OSError:
            return False
    return response[:2] == b"\x01\x01" and response[8:20] == transaction


def _wait_listening(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"turnserver exited early ({process.returncode})")
        if _answers_stun(port):
            return
        time.sleep(0.1)
    raise RuntimeError("turnserver did not start in time")


@contextmanager
def running_turn_relay(
    directory: Path, *, secret: str = "relay-test-secret", reach_loopback: bool = True
) -> Iterator[TurnRelay]:
    """coturn listening on a free loopback UDP port until the block ends."""
    directory.mkdir(parents=True, exist_ok=True)
    port = _free_udp_port()
    config = directory / "turnserver.conf"
    config.write_text(relay_config(port, secret, directory, reach_loopback=reach_loopback))
    process = subprocess.Popen(
        [TURNSERVER, "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(process, port)
        yield TurnRelay("127.0.0.1", port, secret)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
