"""The wheel carries the three packages, the migrations and the web pages."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_packages_migrations_and_pages(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("telehealth_assistant-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in (
        "telehealth/app.py",
        "voice/recognition.py",
        "signaling/__init__.py",
        "telehealth/migrations/env.py",
        "telehealth/migrations/versions/0001_initial.py",
    ):
        assert module in names, module
    data = {name.split(".data/data/", 1)[1] for name in names if ".data/data/" in name}
    for page in (ROOT / "web").rglob("*"):
        if page.is_file():
            assert f"share/telehealth/web/{page.relative_to(ROOT / 'web')}" in data, page
