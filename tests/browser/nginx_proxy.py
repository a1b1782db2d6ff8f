"""Debian's nginx in front of the test's server processes, configured from the shipped
deploy/nginx/telehealth.conf: only the upstream, the listen ports, the certificate and the
static path are swapped, each swap checked to have happened, so the file that ships is the
file that runs. Plus a test CA and a server certificate made with `cryptography`."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.tls_certificates import make_certificates

REPOSITORY = Path(__file__).resolve().parents[2]
SHIPPED_CONFIG = REPOSITORY / "deploy" / "nginx" / "telehealth.conf"
STATIC_DIR = REPOSITORY / "web" / "static"
NGINX = "/usr/sbin/nginx"
STARTUP_TIMEOUT_S = 15.0

# Requests with a staff session cookie (its name with or without the __Host- prefix) go to
# the staff process, everything else to the patients' one: the test then knows where
# each side landed. `$telehealth_upstream` is logged with the upstream's address.
_TEST_UPSTREAMS = """upstream telehealth_patients {{
    server 127.0.0.1:{patients};
    keepalive 8;
    keepalive_timeout 4s;
}}
upstream telehealth_staff {{
    server 127.0.0.1:{staff};
    keepalive 8;
    keepalive_timeout 4s;
}}
map $http_cookie $telehealth_upstream {{
    "~(^|[; ])(__Host-)?th_clinician=" telehealth_staff;
    default telehealth_patients;
}}"""

_MAIN_CONFIG = """{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{
    worker_connections 256;
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    log_format routed '$telehealth_upstream $upstream_addr $status $request_method $uri';
    access_log {folder}/access.log routed;
{site}
}}
"""


@dataclass(frozen=True)
class TLSFiles:
    ca: Path
    certificate: Path
    key: Path


@dataclass(frozen=True)
class Routed:
    """One line of nginx's access log: which upstream a request went to, and how it ended."""

    upstream: str
    address: str
    status: int
    method: str
    path: str


@dataclass(frozen=True)
class Nginx:
    https_url: str
    http_url: str
    folder: Path

    def routed(self) -> list[Routed]:
        lines = (self.folder / "access.log").read_text(encoding="utf-8").splitlines()
        parsed = []
        for line in lines:
            upstream, address, status, method, path = line.split(" ", 4)
            parsed.append(Routed(upstream, address, int(status), method, path))
        return parsed


def make_tls_files(folder: Path) -> TLSFiles:
    """A CA and a server certificate it signed for 127.0.0.1 (tests/tls_certificates.py)."""
    made = make_certificates(folder)
    return TLSFiles(made.ca, made.server_cert, made.server_key)


def _swap(text: str, old: str, new: str, count: int = 1) -> str:
    found = text.count(old)
    assert found == count, f"deploy/nginx/telehealth.conf: {old!r} found {found} times"
    return text.replace(old, new)


def site_config_for_test(
    *, https_port: int, http_port: int, tls: TLSFiles, patients_port: int, staff_port: int
) -> str:
    """The shipped site file with loopback ports, the test certificate, this checkout's
    static files and an upstream that sends patients and staff to different processes."""
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    upstream = re.compile(r"^upstream telehealth \{.*?^\}", re.MULTILINE | re.DOTALL)
    assert len(upstream.findall(text)) == 1, "deploy/nginx/telehealth.conf: one upstream block"
    text = upstream.sub(
        lambda _: _TEST_UPSTREAMS.format(patients=patients_port, staff=staff_port), text
    )
    text = _swap(
        text, "proxy_pass http://telehealth;", "proxy_pass http://$telehealth_upstream;", 2
    )
    text = _swap(text, "listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    text = _swap(text, "listen [::]:443 ssl http2;\n", "")
    text = _swap(text, "listen 80;", f"listen 127.0.0.1:{http_port};")
    text = _swap(text, "listen [::]:80;\n", "")
    text = _swap(text, "/etc/ssl/telehealth/fullchain.pem", str(tls.certificate))
    text = _swap(text, "/etc/ssl/telehealth/privkey.pem", str(tls.key))
    return _swap(text, "alias /opt/telehealth/web/static/;", f"alias {STATIC_DIR}/;")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 1):
            return True
    except OSError:
        return False


@contextmanager
def running_nginx(folder: Path, site: str, *, https_port: int, http_port: int) -> Iterator[Nginx]:
    """nginx as a child process (not a daemon) with `site`, stopped on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    # As root the master would hand its workers to `nobody`, who may not read the test's
    # folders; a test run as another user keeps its own (nginx ignores `user` then).
    user = "user root root;" if os.geteuid() == 0 else ""
    config = folder / "nginx.conf"
    config.write_text(_MAIN_CONFIG.format(user=user, folder=folder, site=site), encoding="utf-8")
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(folder), "-c", str(config), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(config), "-e", "stderr", "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not (_answers(https_port) and _answers(http_port)):
            assert process.poll() is None, f"nginx exited: {process.communicate()[1]}"
            assert time.monotonic() < deadline, "nginx did not start listening"
            time.sleep(0.1)
        yield Nginx(f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", folder)
    finally:
        # SIGTERM: nginx's fast stop; the pages are closed by now.
        process.terminate()
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate(timeout=5)
