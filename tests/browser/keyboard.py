"""Driving a page with the keyboard alone, checking after every key that the focus is
visible (a :focus-visible outline or box-shadow on a rendered element) and never trapped."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect

TAB_LIMIT = 150  # more than any page here needs, with the visits of a whole test run

_FOCUS_STATE = """() => {
  const el = document.activeElement;
  const name = el ? (el.getAttribute("aria-label") || el.textContent || el.value || "") : "";
  const what = el ? `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${
    name.trim().replace(/\\s+/g, " ").slice(0, 60)}"` : "nothing";
  if (!el || el === document.body || el === document.documentElement) {
    return { visible: false, what: "the page itself (no element has the focus)" };
  }
  const style = getComputedStyle(el);
  const outlined = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadowed = style.boxShadow !== "none";
  const box = el.getBoundingClientRect();
  return {
    visible: el.matches(":focus-visible") && (outlined || shadowed)
      && box.width > 0 && box.height > 0,
    what,
    outline: `${style.outlineStyle} ${style.outlineWidth}`,
    shadow: style.boxShadow,
  };
}"""


def focus_state(page: Page) -> dict[str, Any]:
    """What has the focus, and whether a sighted keyboard user can see where it is."""
    state: dict[str, Any] = page.evaluate(_FOCUS_STATE)
    return state


def assert_focus_visible(page: Page, after: str) -> None:
    state = focus_state(page)
    assert state["visible"], f"after {after}, the focus is not visible: {state}"


def press(page: Page, key: str) -> None:
    """Press a key that keeps the focus on this page, then check the focus is visible."""
    page.keyboard.press(key)
    assert_focus_visible(page, key)


def expect_focus(page: Page, target: Locator) -> None:
    """Wait until `target` has the focus (pages move it after a fetch), visibly."""
    expect(target).to_be_focused()
    assert_focus_visible(page, "the focus moved")


def tab_to(page: Page, target: Locator, *, backwards: bool = False) -> int:
    """Press Tab (or Shift+Tab) until `target` has the focus; returns the presses needed.

    Every press must move the focus (a trap keeps it in place) to a visible focus
    indicator; running off the end of the page fails the same way.
    """
    key = "Shift+Tab" if backwards else "Tab"
    expect(target).to_be_visible()
    for presses in range(1, TAB_LIMIT + 1):
        before = page.evaluate_handle("document.activeElement")
        page.keyboard.press(key)
        stayed = before.evaluate("el => el === document.activeElement")
        before.dispose()
        assert not stayed, f"{key} did not move the focus from {focus_state(page)['what']}"
        assert_focus_visible(page, f"{key} number {presses}")
        if target.evaluate("el => el === document.activeElement"):
            return presses
    raise AssertionError(f"{TAB_LIMIT} presses of {key} did not reach {target}")
