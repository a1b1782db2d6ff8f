"""Where the static `web/` pages are: beside the package in a checkout, or installed data."""

from __future__ import annotations

import sys
from pathlib import Path

CHECKOUT_WEB = Path(__file__).resolve().parent.parent / "web"
INSTALLED_WEB = Path(sys.prefix) / "share" / "telehealth" / "web"


def find_web_root() -> Path:
    for candidate in (CHECKOUT_WEB, INSTALLED_WEB):
        if (candidate / "index.html").is_file():
            return candidate
    raise FileNotFoundError(
        f"the web pages are missing: looked in {CHECKOUT_WEB} and {INSTALLED_WEB}"
    )
