"""Run axe-core (shipped by the axe-playwright-python package) in a Playwright page."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import axe_playwright_python
from playwright.sync_api import Page

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

_RUN_AXE = """
async (tags) => {
  const results = await axe.run(document, { runOnly: { type: "tag", values: tags } });
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
  }));
}
"""


@functools.cache
def axe_source() -> str:
    """The text of axe.min.js from the installed package."""
    package_dir = Path(axe_playwright_python.__file__).parent
    found = sorted(package_dir.rglob("axe.min.js"))
    if not found:
        raise FileNotFoundError(f"axe.min.js is not in {package_dir}")
    return found[0].read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The WCAG 2.x A/AA violations axe finds on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated over DevTools, not as a <script> tag: the pages' CSP forbids inline script.
        page.evaluate(axe_source())
    violations: list[dict[str, Any]] = page.evaluate(_RUN_AXE, WCAG_TAGS)
    return violations


def assert_accessible(page: Page, state: str) -> None:
    """Fail with a readable list if axe finds any WCAG 2.x A/AA violation."""
    violations = axe_violations(page)
    lines = [
        f"- {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"][:5])
        for v in violations
    ]
    assert not violations, f"axe found violations in state '{state}':\n" + "\n".join(lines)
