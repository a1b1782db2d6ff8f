"""Where the `web/` directory is: beside the package in a checkout, or installed data.

`web/templates/` holds the Jinja2 pages, `web/static/` the CSS and browser modules served
at `/static/`.
"""

from __future__ import annotations

import sys
from pathlib import Path

CHECKOUT_WEB = Path(__file__).resolve().parents[2] / "web"
INSTALLED_WEB = Path(sys.prefix) / "share" / "telehealth" / "web"


def find_web_root() -> Path:
    for candidate in (CHECKOUT_WEB, INSTALLED_WEB):
        if (candidate / "templates" / "base.html").is_file():
            return candidate
    raise FileNotFoundError(
        f"the web pages are missing: looked in {CHECKOUT_WEB} and {INSTALLED_WEB}"
    )


def templates_dir() -> Path:
    return find_web_root() / "templates"


def static_dir() -> Path:
    return find_web_root() / "static"
