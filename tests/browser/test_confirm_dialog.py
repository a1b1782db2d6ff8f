"""The call pages' confirm dialogs in Chromium: a dialog reopened before the close event of
its last answer arrives (Escape, then Enter at once) still gets this answer, not that one."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import Server

pytestmark = pytest.mark.browser

# dialog.close(value) queues its close event, as Escape and a form's submit button do: the
# second question is asked in the same task, before the first closing's event is dispatched.
_REOPEN_BEFORE_THE_CLOSE_EVENT = """async () => {
  const { confirmWith } = await import("/static/js/call-ui.js");
  const dialog = document.createElement("dialog");
  dialog.append(document.createElement("form"));
  document.body.append(dialog);
  const first = confirmWith(dialog);
  dialog.close("cancel");
  const second = confirmWith(dialog);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const openAfterLateEvent = dialog.open;
  dialog.close("confirm");
  return { first: await first, second: await second, openAfterLateEvent };
}"""


def test_a_late_close_event_does_not_answer_the_reopened_question(
    browser: Browser, server: Server
) -> None:
    page = browser.new_page()
    try:
        page.goto(server.base_url + "/")
        outcome: dict[str, Any] = page.evaluate(_REOPEN_BEFORE_THE_CLOSE_EVENT)
        assert outcome == {"first": False, "second": True, "openAfterLateEvent": True}
    finally:
        page.close()
