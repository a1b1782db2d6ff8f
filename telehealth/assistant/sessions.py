"""Assistant peers of this process: one per participant and purpose, bounded per visit, per
person and in all, all closed at shutdown.

Every limit is checked and the place taken in one step (no await in between), so offers
arriving together cannot all pass the check before any of them is counted. A patient is one
person however many sessions or invite previews they come through: their peers of a visit
count together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy

from signaling.peers import PeerInfo
from telehealth.ice import ice_servers
from telehealth.settings import Settings
from telehealth.speech import SpeechService
from voice.peer import AssistantPeer
from voice.peer_events import PeerClosed, PeerEvent
from voice.peer_messages import ChannelMessage
from voice.recognition import SpeechEngine

log = logging.getLogger("telehealth.assistant")

Mode = Literal["captions", "commands", "intake"]
EventConsumer = Callable[[PeerEvent], Awaitable[None]]

MAX_PEERS = 32
CLOSE_TIMEOUT_S = 10.0


class Attachable(Protocol):
    """A behaviour with a worker of its own (`QueuedBehaviour`)."""

    def attach(self, peer: AssistantPeer) -> None: ...


class TooManyAssistants(Exception):
    """This process serves as many assistant peers as it can, or as the visit or the
    person may have."""


def rtc_configuration(settings: Settings, user: str) -> RTCConfiguration:
    """The server side's ICE servers, as browsers get them (`telehealth.ice`): those
    configured, else none (never a public STUN)."""
    secret = settings.turn_secret.get_secret_value() if settings.turn_secret else None
    servers = [
        RTCIceServer(**server)
        for server in ice_servers(
            settings.ice_servers,
            turn_secret=secret,
            user=user,
            ttl_s=settings.turn_credential_ttl_s,
        )
    ]
    policy = RTCIceTransportPolicy(settings.ice_transport_policy)
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


@dataclass(frozen=True, slots=True)
class AssistantKey:
    visit_id: str
    peer_id: str
    mode: Mode


def person_of(participant: PeerInfo) -> str:
    """Who is behind a peer, for the per-person cap: a visit has one patient (all of its
    patient sessions and invite previews), and each staff member is themselves."""
    return "patient" if participant.role == "patient" else participant.peer_id


@dataclass(frozen=True, slots=True)
class _Place:
    person: str
    peer: AssistantPeer


class AssistantSessions:
    """Creates, tracks and closes the assistant peers of this process."""

    def __init__(self, settings: Settings, speech: SpeechService, *, limit: int = MAX_PEERS):
        self.settings = settings
        self.speech = speech
        self.limit = limit
        self.per_visit = settings.assistant_peers_per_visit
        self.per_person = settings.assistant_peers_per_person
        self._peers: dict[AssistantKey, _Place] = {}

    def __len__(self) -> int:
        return len(self._peers)

    def streams(self) -> int:
        """Recognition streams open for these peers."""
        return sum(1 for place in self._peers.values() if place.peer.pump.recognizing)

    def get(self, key: AssistantKey) -> AssistantPeer | None:
        place = self._peers.get(key)
        return place.peer if place is not None else None

    def count(self, visit_id: str, person: str | None = None) -> int:
        """The peers open for `visit_id` (of `person`, if given)."""
        return sum(
            1
            for key, place in self._peers.items()
            if key.visit_id == visit_id and (person is None or place.person == person)
        )

    def _check_room_for(self, key: AssistantKey, person: str) -> None:
        # Called with `key`'s old peer already taken out: a replacement takes its place.
        if len(self._peers) >= self.limit:
            raise TooManyAssistants("the speech assistant is busy; try again shortly")
        if self.count(key.visit_id) >= self.per_visit:
            raise TooManyAssistants("this visit has as many speech assistants as it may")
        if self.count(key.visit_id, person) >= self.per_person:
            raise TooManyAssistants("you have as many speech assistants open as you may")

    async def open(
        self,
        key: AssistantKey,
        participant: PeerInfo,
        *,
        engine: SpeechEngine,
        offer_sdp: str,
        phrases: list[str] | None,
        consumer: EventConsumer,
        client_messages: Mapping[str, type[ChannelMessage]] | None = None,
        worker: Attachable | None = None,
    ) -> tuple[AssistantPeer, str]:
        """A new peer for `key` (replacing an older one) answering `offer_sdp`, recognizing
        with `engine` (one of `speech`'s); the page may send it `client_messages` (and
        `subscribe`). A behaviour's `worker` is attached before the offer is answered, so it
        hears the first audio. TooManyAssistants when a cap is reached."""
        person = person_of(participant)

        async def on_event(event: PeerEvent) -> None:
            if isinstance(event, PeerClosed):
                self._forget(key, peer)
            await consumer(event)

        # From here to the insert nothing awaits: the check and the reservation are one step.
        old = self._peers.pop(key, None)
        try:
            self._check_room_for(key, person)
        except TooManyAssistants:
            if old is not None:
                self._peers[key] = old
            raise
        peer = AssistantPeer(
            engine,
            phrases=phrases,
            synthesizer=self.speech.synthesizer,
            configuration=rtc_configuration(self.settings, participant.peer_id),
            on_event=on_event,
            client_messages=client_messages,
            name=f"assistant-{key.mode}",
        )
        self._peers[key] = _Place(person, peer)
        if worker is not None:
            worker.attach(peer)
        if old is not None:
            await old.peer.close("replaced")
        try:
            answer = await peer.accept_offer(offer_sdp, "offer")
        except BaseException:
            self._forget(key, peer)
            await peer.close("the offer could not be answered")  # ends the worker too
            raise
        log.info(
            "assistant opened",
            extra={"visit_id": key.visit_id, "mode": key.mode, "engine": engine.info.engine},
        )
        return peer, answer.sdp

    def _forget(self, key: AssistantKey, peer: AssistantPeer) -> None:
        place = self._peers.get(key)
        if place is not None and place.peer is peer:
            del self._peers[key]

    async def close_participant(self, visit_id: str, peer_id: str | None = None) -> int:
        """Close the peers of one participant (their session ended), or with no `peer_id`
        all of the visit's (it is over); how many there were."""
        keys = [
            k
            for k in self._peers
            if k.visit_id == visit_id and (peer_id is None or k.peer_id == peer_id)
        ]
        places = [self._peers.pop(key) for key in keys]
        await asyncio.gather(
            *(place.peer.close("session ended") for place in places), return_exceptions=True
        )
        return len(places)

    async def close(self) -> None:
        peers = [place.peer for place in self._peers.values()]
        self._peers.clear()
        results = await asyncio.gather(
            *(p.close("server stopping") for p in peers), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                log.warning("closing an assistant peer failed", exc_info=result)
