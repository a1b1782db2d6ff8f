"""Assistant peers of this process: one per participant and purpose, bounded, all closed
at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy

from signaling.peers import PeerInfo
from telehealth.ice import turn_credentials
from telehealth.settings import Settings
from telehealth.speech import SpeechService
from voice.peer import AssistantPeer
from voice.peer_events import PeerClosed, PeerEvent
from voice.recognition import SpeechEngine

log = logging.getLogger("telehealth.assistant")

Mode = Literal["captions", "commands", "intake"]
EventConsumer = Callable[[PeerEvent], Awaitable[None]]

MAX_PEERS = 32
CLOSE_TIMEOUT_S = 10.0


class TooManyAssistants(Exception):
    """This process serves as many assistant peers as it can."""


def rtc_configuration(settings: Settings, user: str) -> RTCConfiguration:
    """The server side's ICE servers: those configured, else none (never a public STUN)."""
    servers = [RTCIceServer(urls=url) for url in settings.ice_servers if url.startswith("stun:")]
    turn = [url for url in settings.ice_servers if url.startswith(("turn:", "turns:"))]
    if turn and settings.turn_secret:
        username, credential = turn_credentials(
            settings.turn_secret.get_secret_value(), user, settings.turn_credential_ttl_s
        )
        servers.append(RTCIceServer(urls=turn, username=username, credential=credential))
    policy = RTCIceTransportPolicy(settings.ice_transport_policy)
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


@dataclass(frozen=True, slots=True)
class AssistantKey:
    visit_id: str
    peer_id: str
    mode: Mode


class AssistantSessions:
    """Creates, tracks and closes the assistant peers of this process."""

    def __init__(self, settings: Settings, speech: SpeechService, *, limit: int = MAX_PEERS):
        self.settings = settings
        self.speech = speech
        self.limit = limit
        self._peers: dict[AssistantKey, AssistantPeer] = {}
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._peers)

    def streams(self) -> int:
        """Recognition streams open for these peers."""
        return sum(1 for peer in self._peers.values() if peer.pump.recognizing)

    def get(self, key: AssistantKey) -> AssistantPeer | None:
        return self._peers.get(key)

    async def open(
        self,
        key: AssistantKey,
        participant: PeerInfo,
        *,
        engine: SpeechEngine,
        offer_sdp: str,
        phrases: list[str] | None,
        consumer: EventConsumer,
    ) -> tuple[AssistantPeer, str]:
        """A new peer for `key` (replacing an older one) answering `offer_sdp`, recognizing
        with `engine` (one of `speech`'s)."""
        async with self._lock:
            old = self._peers.pop(key, None)
            if old is None and len(self._peers) >= self.limit:
                raise TooManyAssistants("the speech assistant is busy; try again shortly")
        if old is not None:
            await old.close("replaced")

        async def on_event(event: PeerEvent) -> None:
            if isinstance(event, PeerClosed):
                self._forget(key, peer)
            await consumer(event)

        peer = AssistantPeer(
            engine,
            phrases=phrases,
            synthesizer=self.speech.synthesizer,
            configuration=rtc_configuration(self.settings, participant.peer_id),
            on_event=on_event,
            name=f"assistant-{key.mode}",
        )
        async with self._lock:
            self._peers[key] = peer
        try:
            answer = await peer.accept_offer(offer_sdp, "offer")
        except BaseException:
            self._forget(key, peer)
            raise
        log.info(
            "assistant opened",
            extra={"visit_id": key.visit_id, "mode": key.mode, "engine": engine.info.engine},
        )
        return peer, answer.sdp

    def _forget(self, key: AssistantKey, peer: AssistantPeer) -> None:
        if self._peers.get(key) is peer:
            del self._peers[key]

    async def close(self) -> None:
        peers = list(self._peers.values())
        self._peers.clear()
        results = await asyncio.gather(
            *(p.close("server stopping") for p in peers), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                log.warning("closing an assistant peer failed", exc_info=result)
