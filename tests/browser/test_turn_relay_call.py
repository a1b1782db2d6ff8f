"""A video call forced through the TURN relay (Debian's coturn with the shipped rules,
on loopback): with TELEHEALTH_ICE_TRANSPORT_POLICY=relay both Chromium pages connect, both
receive audio and video, and the candidate pair each one uses is a relayed one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import Server, _running_server
from tests.browser.test_captions import open_call
from tests.browser.test_video_call import remote_media
from tests.coturn import TurnRelay, running_turn_relay

pytestmark = pytest.mark.browser

# The pair the page's peer connection selected, and what kind of candidates it joins.
_SELECTED_PAIR = """async () => {
  const stats = await window.__call.pc.getStats();
  let pair = null;
  stats.forEach((report) => {
    if (report.type === "transport" && report.selectedCandidatePairId) {
      pair = stats.get(report.selectedCandidatePairId);
    }
  });
  if (!pair) return null;
  return {
    local: stats.get(pair.localCandidateId).candidateType,
    remote: stats.get(pair.remoteCandidateId).candidateType,
    bytesReceived: pair.bytesReceived,
  };
}"""


@pytest.fixture(scope="module")
def relayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, TurnRelay]]:
    directory = tmp_path_factory.mktemp("relayed-call")
    with running_turn_relay(directory / "turn") as relay:
        settings = {
            "TELEHEALTH_ICE_SERVERS": relay.url,
            "TELEHEALTH_TURN_SECRET": relay.secret,
            "TELEHEALTH_ICE_TRANSPORT_POLICY": "relay",
        }
        with _running_server(directory, settings=settings) as server:
            yield server, relay


def test_a_call_forced_through_the_relay_carries_audio_and_video(
    browser: Browser, relayed: tuple[Server, TurnRelay]
) -> None:
    server, _ = relayed
    clinician_context = browser.new_context()
    patient_context = browser.new_context()
    try:
        clinician, patient = clinician_context.new_page(), patient_context.new_page()
        open_call(server, clinician, patient, consent="No", check_consent_step=False)
        for page in (clinician, patient):
            media = remote_media(page)
            assert media["kinds"] == ["audio", "video"] and media["live"] is True
            assert media["width"] > 0 and media["height"] > 0
            page.wait_for_function(
                "async () => { const s = await window.__call.pc.getStats(); let n = 0;"
                " s.forEach((r) => { if (r.type === 'inbound-rtp') n += r.bytesReceived || 0; });"
                " return n > 10000; }",
                timeout=20_000,
            )
            pair: dict[str, Any] | None = page.evaluate(_SELECTED_PAIR)
            assert pair is not None
            assert (pair["local"], pair["remote"]) == ("relay", "relay")
            assert pair["bytesReceived"] > 0
    finally:
        clinician_context.close()
        patient_context.close()
