"""The web layer: server-rendered pages, the HTML error pages and the static files.

`templates` renders `web/templates/` with Jinja2 (autoescaping on) and gives every page the
action registry, so buttons, accessible names and shortcut hints are written once;
`pages` maps clean URLs to page templates; `error_pages` answers failed browser navigations
with a page that extends the same base; `root` finds `web/` in a checkout or installed.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from telehealth.web.admin_page import admin_page_router
from telehealth.web.error_pages import install_error_pages
from telehealth.web.pages import pages_router
from telehealth.web.root import static_dir


def install_web(app: FastAPI) -> None:
    """The pages, the error pages and `/static/` on `app`."""
    install_error_pages(app)
    app.include_router(pages_router())
    app.include_router(admin_page_router())
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")


__all__ = ["install_web"]
