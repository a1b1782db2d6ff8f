"""The TURN relay of deploy/coturn/turnserver.conf against Debian's coturn, on loopback.

The service's REST credentials (telehealth/ice.py) open an allocation; a wrong secret or
an expired credential is refused; the shipped rules refuse to relay to loopback (no open
relay into the clinic's network); and the assistant's own peer connection (aiortc, with
the configuration `rtc_configuration` builds) connects through the relay alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice.stun import TransactionFailed
from aioice.turn import TurnClientUdpProtocol, TurnTransport, create_turn_endpoint
from aiortc import RTCPeerConnection

from telehealth.assistant.sessions import rtc_configuration
from telehealth.ice import turn_credentials
from telehealth.settings import Settings
from tests.coturn import TurnRelay, running_turn_relay

TIMEOUT_S = 20.0


class _Inbox(asyncio.DatagramProtocol):
    """What a relayed endpoint receives from its peers."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue(maxsize=16)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.put_nowait((data, addr))


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnRelay]:
    """Two browsers on one machine: peers on 127.0.0.1 may be reached."""
    with running_turn_relay(tmp_path_factory.mktemp("turn")) as running:
        yield running


@pytest.fixture(scope="module")
def shipped_relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnRelay]:
    """The shipped peer rules unchanged: loopback and private peers are refused."""
    with running_turn_relay(tmp_path_factory.mktemp("turn-shipped"), reach_loopback=False) as r:
        yield r


async def _allocate(relay: TurnRelay, username: str, password: str) -> tuple[TurnTransport, _Inbox]:
    async with asyncio.timeout(TIMEOUT_S):
        return await create_turn_endpoint(
            _Inbox, (relay.host, relay.port), username=username, password=password
        )


def _credential(
    relay: TurnRelay, who: str, *, ttl_s: int = 600, now: float | None = None
) -> tuple[str, str]:
    return turn_credentials(relay.secret, who, ttl_s, now)


@pytest.mark.asyncio
async def test_a_fresh_service_credential_relays_between_two_allocations(
    relay: TurnRelay,
) -> None:
    first, first_inbox = await _allocate(relay, *_credential(relay, "visit-a"))
    second, second_inbox = await _allocate(relay, *_credential(relay, "visit-a"))
    try:
        first_address = first.get_extra_info("sockname")
        second_address = second.get_extra_info("sockname")
        assert first_address[0] == second_address[0] == "127.0.0.1"
        assert first_address != second_address
        # Each side sends once so the relay holds a permission for the other.
        async with asyncio.timeout(TIMEOUT_S):
            first.sendto(b"hello from a", second_address)
            second.sendto(b"hello from b", first_address)
            assert await second_inbox.received.get() == (b"hello from a", first_address)
            assert await first_inbox.received.get() == (b"hello from b", second_address)
    finally:
        first.close()
        second.close()


@pytest.mark.asyncio
async def test_a_credential_made_with_another_secret_is_refused(relay: TurnRelay) -> None:
    username, password = turn_credentials("not-the-relay-secret", "visit-b", 600)
    with pytest.raises(TransactionFailed) as refused:
        await _allocate(relay, username, password)
    assert refused.value.response.attributes["ERROR-CODE"][0] == 401


@pytest.mark.asyncio
async def test_an_expired_credential_is_refused(relay: TurnRelay) -> None:
    issued_an_hour_ago = time.time() - 3600
    username, password = _credential(relay, "visit-c", ttl_s=600, now=issued_an_hour_ago)
    with pytest.raises(TransactionFailed) as refused:
        await _allocate(relay, username, password)
    assert refused.value.response.attributes["ERROR-CODE"][0] == 401


@pytest.mark.asyncio
async def test_the_shipped_rules_refuse_to_relay_to_loopback(shipped_relay: TurnRelay) -> None:
    probe, _ = await _allocate(shipped_relay, *_credential(shipped_relay, "visit-d"))
    loop = asyncio.get_running_loop()
    # The client protocol itself, to see the relay's answer to the channel binding.
    transport, client = await loop.create_datagram_endpoint(
        lambda: TurnClientUdpProtocol(
            (shipped_relay.host, shipped_relay.port),
            *_credential(shipped_relay, "visit-d"),
            lifetime=600,
            channel_refresh_time=500,
        ),
        remote_addr=(shipped_relay.host, shipped_relay.port),
    )
    try:
        async with asyncio.timeout(TIMEOUT_S):
            assert (await client.connect())[0] == "127.0.0.1"
            with pytest.raises(TransactionFailed) as refused:
                await client.send_data(b"probe", probe.get_extra_info("sockname"))
        assert refused.value.response.attributes["ERROR-CODE"][0] == 403
    finally:
        await client.delete()
        transport.close()
        probe.close()


def _relay_only_settings(relay: TurnRelay, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        ice_servers=[relay.url],
        turn_secret=relay.secret,
        ice_transport_policy="relay",
    )


def _selected_candidate_type(pc: RTCPeerConnection) -> str:
    # aiortc exposes no candidate-pair stats; the ICE connection's nominated pair says it.
    transport = pc.getTransceivers()[0].sender.transport
    assert transport is not None
    pair = transport.transport._connection._nominated[1]
    return str(pair.local_candidate.type)


def _set_when_connected(pc: RTCPeerConnection, event: asyncio.Event) -> None:
    @pc.on("connectionstatechange")
    def changed() -> None:
        if pc.connectionState == "connected":
            event.set()


@pytest.mark.asyncio
async def test_the_assistants_peer_connects_through_the_relay_alone(
    relay: TurnRelay, tmp_path: Path
) -> None:
    settings = _relay_only_settings(relay, tmp_path)
    browser_side = RTCPeerConnection(rtc_configuration(settings, "patient"))
    assistant_side = RTCPeerConnection(rtc_configuration(settings, "assistant"))
    connected = {pc: asyncio.Event() for pc in (browser_side, assistant_side)}
    for pc, event in connected.items():
        _set_when_connected(pc, event)
    try:
        browser_side.addTransceiver("audio", direction="sendrecv")
        await browser_side.setLocalDescription(await browser_side.createOffer())
        offer = browser_side.localDescription
        # Only relayed candidates are gathered under the relay policy.
        assert "typ relay" in offer.sdp and "typ host" not in offer.sdp
        await assistant_side.setRemoteDescription(offer)
        await assistant_side.setLocalDescription(await assistant_side.createAnswer())
        await browser_side.setRemoteDescription(assistant_side.localDescription)
        async with asyncio.timeout(TIMEOUT_S):
            await asyncio.gather(*(event.wait() for event in connected.values()))
        assert _selected_candidate_type(browser_side) == "relay"
        assert _selected_candidate_type(assistant_side) == "relay"
    finally:
        await browser_side.close()
        await assistant_side.close()
