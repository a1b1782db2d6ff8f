"""RoomHub: rooms replicated over a shared event log, two hubs acting as two processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest

from signaling import (
    BackendUnavailable,
    Caption,
    Connection,
    ConnectionClosed,
    EventLog,
    HubClosed,
    PeerInfo,
    RateLimited,
    RoomEnded,
    RoomHub,
    RoomTransition,
    ServerMessage,
    create_backend,
)
from signaling.messages import (
    Admit,
    EndCall,
    IceCandidate,
    Ping,
    SendAnswer,
    SendChat,
    SendIce,
    SendOffer,
)
from signaling.server_messages import (
    Admitted,
    Bye,
    CallEnded,
    ChatPosted,
    ErrorNotice,
    PeerJoined,
    PeerLeft,
    Presence,
    QueuePosition,
    RelayedAnswer,
    RelayedIce,
    RelayedOffer,
    Status,
    Welcome,
)

from .conftest import BackendFactory
from .helpers import CLINICIAN, PATIENT

WAIT_S = 5.0


class Client:
    """A fake websocket: collects what the hub sends to one connection."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inbox: asyncio.Queue[ServerMessage] = asyncio.Queue(maxsize=1000)
        self.connection: Connection | None = None

    async def send(self, message: ServerMessage) -> None:
        self.inbox.put_nowait(message)

    async def next(self) -> ServerMessage:
        async with asyncio.timeout(WAIT_S):
            return await self.inbox.get()

    async def expect(self, *types: str) -> list[ServerMessage]:
        got = [await self.next() for _ in types]
        assert [m.type for m in got] == list(types), (self.name, got)
        return got

    async def silent(self, seconds: float = 0.2) -> None:
        await asyncio.sleep(seconds)
        assert self.inbox.empty(), (self.name, self.inbox.get_nowait())

    @property
    def conn(self) -> Connection:
        assert self.connection is not None
        return self.connection


@asynccontextmanager
async def connected(
    hub: RoomHub, client: Client, peer: PeerInfo, resume_token: str | None = None
) -> AsyncIterator[Client]:
    async with hub.connect("visit-1", peer, client.send, resume_token) as connection:
        client.connection = connection
        yield client


async def closed_with(client: Client) -> str | None:
    async with asyncio.timeout(WAIT_S):
        return await client.conn.wait_closed()


class Recorder:
    def __init__(self) -> None:
        self.seen: list[RoomTransition] = []

    async def __call__(self, visit_id: str, transition: RoomTransition) -> None:
        assert visit_id == transition.visit_id == "visit-1"
        self.seen.append(transition)

    def kinds(self) -> list[tuple[str, str]]:
        return [(t.kind, t.peer_id) for t in self.seen]


def make_hub(backend: EventLog, **options: Any) -> RoomHub:
    options.setdefault("expire_jitter_s", 0.05)
    options.setdefault("expire_backup_s", 0.5)
    return RoomHub(backend, **options)


async def wait_until(condition: Any, within: float = WAIT_S) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polling hub state from outside is the point
            await asyncio.sleep(0.02)


@pytest.mark.asyncio
async def test_visit_across_two_processes(make_backend: BackendFactory) -> None:
    """Patient on hub A, clinician on hub B: queue, admit, media, chat, end_call."""
    seen_a, seen_b = Recorder(), Recorder()
    hub_a = make_hub(await make_backend(), on_transition=seen_a)
    hub_b = make_hub(await make_backend(), on_transition=seen_b)
    patient, doctor = Client("patient"), Client("doctor")
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(connected(hub_a, patient, PATIENT))
        welcome, queue = await patient.expect("welcome", "queue")
        assert isinstance(welcome, Welcome) and welcome.state == "waiting"
        assert queue == QueuePosition(position=1, clinician_present=False)

        await stack.enter_async_context(connected(hub_b, doctor, CLINICIAN))
        (welcome,) = await doctor.expect("welcome")
        assert isinstance(welcome, Welcome) and welcome.state == "in_room"
        assert [(p.peer_id, p.state) for p in welcome.peers] == [("pt-1", "waiting")]
        assert await patient.expect("queue") == [QueuePosition(position=1, clinician_present=True)]

        await doctor.conn.submit(Admit(peer_id="pt-1"))
        (admitted,) = await patient.expect("admitted")
        assert isinstance(admitted, Admitted)
        assert [p.peer_id for p in admitted.peers] == ["dr-1"]
        (joined,) = await doctor.expect("peer_joined")
        assert isinstance(joined, PeerJoined) and joined.peer.state == "in_room"

        await doctor.conn.submit(SendOffer(sdp="v=0 offer", to="pt-1"))
        assert await patient.expect("offer") == [RelayedOffer(from_="dr-1", sdp="v=0 offer")]
        await patient.conn.submit(SendAnswer(sdp="v=0 answer", to="dr-1"))
        assert await doctor.expect("answer") == [RelayedAnswer(from_="pt-1", sdp="v=0 answer")]
        candidate = IceCandidate(candidate="candidate:1 1 udp 1 10.0.0.1 9 typ host", sdpMid="0")
        await patient.conn.submit(SendIce(candidate=candidate, to="dr-1"))
        assert await doctor.expect("ice") == [RelayedIce(from_="pt-1", candidate=candidate)]

        await patient.conn.submit(SendChat(text="I feel dizzy"))
        (chat_p,) = await patient.expect("chat")
        (chat_d,) = await doctor.expect("chat")
        assert chat_p == chat_d
        assert isinstance(chat_d, ChatPosted) and chat_d.text == "I feel dizzy"

        await doctor.conn.submit(EndCall())
        assert await patient.expect("call_ended") == [CallEnded(by="dr-1")]
        assert await doctor.expect("call_ended") == [CallEnded(by="dr-1")]
        assert await closed_with(patient) == "call_ended"
        assert await closed_with(doctor) == "call_ended"
        with pytest.raises(ConnectionClosed):
            await patient.conn.submit(Ping())

    # Nobody can come back into an ended visit.
    late = Client("late")
    with pytest.raises(RoomEnded):
        async with connected(hub_a, late, PATIENT):
            pass
    (error,) = await late.expect("error")
    assert isinstance(error, ErrorNotice) and error.code == "room_ended"

    # Transitions are reported once, by the process whose event caused them.
    assert seen_a.kinds() == [("waiting", "pt-1")]
    assert seen_b.kinds() == [
        ("entered_room", "dr-1"),
        ("admitted", "pt-1"),
        ("call_ended", "dr-1"),
    ]
    await wait_until(lambda: not hub_a.attached_visits() and not hub_b.attached_visits())
    await hub_a.close()
    await hub_b.close()


@pytest.mark.asyncio
async def test_resume_on_the_other_process_within_grace(make_backend: BackendFactory) -> None:
    hub_a = make_hub(await make_backend(), grace_s=10.0)
    hub_b = make_hub(await make_backend(), grace_s=10.0)
    doctor = Client("doctor")
    async with connected(hub_b, doctor, CLINICIAN):
        await doctor.expect("welcome")
        first = Client("patient-1")
        async with connected(hub_a, first, PATIENT):
            (welcome, _queue) = await first.expect("welcome", "queue")
            assert isinstance(welcome, Welcome)
            token = welcome.resume_token
            await doctor.expect("peer_joined")
            await doctor.conn.submit(Admit(peer_id="pt-1"))
            await first.expect("admitted")
            await doctor.expect("peer_joined")
        # The connection dropped: the doctor sees the patient go offline, not leave.
        assert await doctor.expect("presence") == [Presence(peer_id="pt-1", online=False)]
        # Hub A keeps following the visit while its lost peer is within grace.
        assert hub_a.attached_visits() == ["visit-1"]

        second = Client("patient-2")
        async with connected(hub_b, second, PATIENT, resume_token=token):
            (welcome,) = await second.expect("welcome")
            assert isinstance(welcome, Welcome)
            assert welcome.state == "in_room" and welcome.resume_token != token
            assert await doctor.expect("presence") == [Presence(peer_id="pt-1", online=True)]
            # Hub A lets go once its lost peer is back elsewhere.
            await wait_until(lambda: not hub_a.attached_visits())
            await second.conn.submit(SendChat(text="back"))
            await second.expect("chat")
            await doctor.expect("chat")
    await hub_a.close()
    await hub_b.close()


@pytest.mark.asyncio
async def test_grace_expiry_is_published_by_the_process_that_lost_the_peer() -> None:
    backend = create_backend("memory://")
    await backend.connect()
    seen_a, seen_b = Recorder(), Recorder()
    hub_a = make_hub(backend, grace_s=0.3, on_transition=seen_a)
    hub_b = make_hub(backend, grace_s=0.3, on_transition=seen_b)
    doctor, patient = Client("doctor"), Client("patient")
    async with connected(hub_b, doctor, CLINICIAN):
        await doctor.expect("welcome")
        async with connected(hub_a, patient, PATIENT):
            await patient.expect("welcome", "queue")
            await doctor.expect("peer_joined")
        await doctor.expect("presence")
        (left,) = await doctor.expect("peer_left")
        assert isinstance(left, PeerLeft) and left.reason == "expired"
        room = hub_b.room("visit-1")
        assert room is not None and room.waiting() == []
        await wait_until(lambda: not hub_a.attached_visits())
    assert [k for k in seen_a.kinds() if k[0] == "left"] == [("left", "pt-1")]
    assert [k for k in seen_b.kinds() if k == ("left", "pt-1")] == []
    await hub_a.close()
    await hub_b.close()
    await backend.close()


@pytest.mark.asyncio
async def test_silent_peer_is_expired_by_heartbeat_and_closed() -> None:
    backend = create_backend("memory://")
    await backend.connect()
    hub = make_hub(backend, grace_s=0.2, heartbeat_timeout_s=0.3)
    doctor, patient = Client("doctor"), Client("patient")
    async with connected(hub, doctor, CLINICIAN), connected(hub, patient, PATIENT):
        await doctor.expect("welcome", "peer_joined")
        await patient.expect("welcome", "queue")
        for _ in range(8):  # the doctor keeps pinging, the patient stays silent
            await doctor.conn.submit(Ping())
            await asyncio.sleep(0.1)
        assert await closed_with(patient) == "expired"
        assert await patient.expect("bye") == [Bye(reason="expired")]
        types = []
        while not doctor.inbox.empty():
            types.append(doctor.inbox.get_nowait().type)
        assert "peer_left" in types and types.count("pong") == 8
        assert doctor.conn.closed is False
    await hub.close()
    await backend.close()


@pytest.mark.asyncio
async def test_slow_consumer_is_closed_without_blocking_others() -> None:
    backend = create_backend("memory://")
    await backend.connect()
    slow_closed: list[None] = []
    hub = make_hub(
        backend,
        outbox_size=4,
        send_timeout_s=0.3,
        on_slow_consumer=lambda: slow_closed.append(None),
    )
    stuck = asyncio.Event()

    async def never_returns(message: ServerMessage) -> None:
        stuck.set()
        await asyncio.sleep(3600)

    doctor = Client("doctor")
    async with connected(hub, doctor, CLINICIAN):
        await doctor.expect("welcome")
        async with hub.connect("visit-1", PATIENT, never_returns) as slow:
            await doctor.expect("peer_joined")
            await doctor.conn.submit(Admit(peer_id="pt-1"))
            await doctor.expect("peer_joined")
            for i in range(10):
                await doctor.conn.submit(SendChat(text=f"line {i}"))
            # The doctor gets every line promptly although the patient is stuck.
            assert len(await doctor.expect(*["chat"] * 10)) == 10
            async with asyncio.timeout(WAIT_S):
                assert await slow.wait_closed() == "slow_consumer"
        assert stuck.is_set()
        assert len(slow_closed) == 1  # told once, for the metrics
        assert await doctor.expect("presence") == [Presence(peer_id="pt-1", online=False)]
    await hub.close()
    await backend.close()


@pytest.mark.asyncio
async def test_rate_limit_and_replacement_and_close() -> None:
    backend = create_backend("memory://")
    await backend.connect()
    hub = make_hub(backend, message_rate=1.0, message_burst=3.0)
    first, second = Client("first"), Client("second")
    async with connected(hub, first, CLINICIAN):
        await first.expect("welcome")
        for _ in range(3):
            await first.conn.submit(Ping())
        with pytest.raises(RateLimited):
            await first.conn.submit(Ping())
        await first.expect("pong", "pong", "pong")
        # The same clinician connects again without a token: it replaces the first.
        async with connected(hub, second, CLINICIAN):
            await second.expect("welcome")
            assert await first.expect("bye") == [Bye(reason="replaced")]
            assert await closed_with(first) == "replaced"
            await hub.close()
            assert await closed_with(second) == "hub_closed"
    with pytest.raises(HubClosed):
        async with connected(hub, Client("x"), PATIENT):
            pass
    await backend.close()


@pytest.mark.asyncio
async def test_injected_events_from_a_process_without_peers(make_backend: BackendFactory) -> None:
    hub_a = make_hub(await make_backend())
    hub_b = make_hub(await make_backend())
    assistant = make_hub(await make_backend())  # e.g. the speech worker's process
    doctor, patient = Client("doctor"), Client("patient")
    async with connected(hub_a, doctor, CLINICIAN), connected(hub_b, patient, PATIENT):
        await doctor.expect("welcome", "peer_joined")
        await patient.expect("welcome", "queue")
        await assistant.inject_status(
            "visit-1", "urgent_intake", "chest pain", audience="clinicians"
        )
        assert await doctor.expect("status") == [Status(event="urgent_intake", detail="chest pain")]
        await assistant.inject_status("visit-1", "clinic_delay", audience="everyone")
        await doctor.expect("status")
        assert await patient.expect("status") == [Status(event="clinic_delay")]
        await doctor.conn.submit(Admit(peer_id="pt-1"))
        await patient.expect("admitted")
        await doctor.expect("peer_joined")
        caption = Caption(
            speaker="pt-1",
            speaker_name="Pat One",
            text="it started yesterday",
            final=True,
            segment_id="seg-7",
            start_s=3.0,
            end_s=4.5,
        )
        await assistant.inject_caption("visit-1", caption)
        assert await doctor.expect("caption") == [caption]
        assert await patient.expect("caption") == [caption]
        assert assistant.attached_visits() == []
    for hub in (hub_a, hub_b, assistant):
        await hub.close()


@pytest.mark.asyncio
async def test_losing_the_backend_closes_local_connections() -> None:
    backend = create_backend("memory://")
    await backend.connect()
    hub = make_hub(backend)
    doctor = Client("doctor")
    async with connected(hub, doctor, CLINICIAN):
        await doctor.expect("welcome")
        await backend.close()
        assert await closed_with(doctor) == "backend_unavailable"
    assert hub.attached_visits() == []
    # Joining while the log is down is a clear BackendUnavailable, not a crash.
    with pytest.raises(BackendUnavailable):
        async with connected(hub, Client("again"), PATIENT):
            pass
    with pytest.raises(BackendUnavailable):
        await hub.inject_status("visit-1", "note")
    with pytest.raises(ValueError, match="visit ids"):
        await hub.inject_status("visit 1", "note")
    await hub.close()


@pytest.mark.asyncio
async def test_failing_transition_callback_is_logged_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = create_backend("memory://")
    await backend.connect()

    async def broken(visit_id: str, transition: RoomTransition) -> None:
        raise RuntimeError("database down")

    hub = make_hub(backend, on_transition=broken)
    doctor = Client("doctor")
    async with connected(hub, doctor, CLINICIAN):
        await doctor.expect("welcome")
        await doctor.conn.submit(Ping())
        await doctor.expect("pong")
    assert "on_transition failed for entered_room" in caplog.text
    assert "Dr Grey" not in caplog.text  # no names in logs
    await hub.close()
    await backend.close()


@pytest.mark.asyncio
async def test_peers_of_a_crashed_process_expire_through_the_others() -> None:
    """Hub A dies without publishing a disconnect; hub B's heartbeat check removes its peer."""
    backend = create_backend("memory://")
    await backend.connect()
    timing: dict[str, Any] = {"grace_s": 0.2, "heartbeat_timeout_s": 0.4, "expire_backup_s": 0.1}
    seen_b = Recorder()
    hub_a = make_hub(backend, **timing)
    hub_b = make_hub(backend, on_transition=seen_b, **timing)
    doctor, patient = Client("doctor"), Client("patient")
    async with connected(hub_b, doctor, CLINICIAN):
        await doctor.expect("welcome")
        crashed = hub_a.connect("visit-1", PATIENT, patient.send)
        await crashed.__aenter__()
        await doctor.expect("peer_joined")
        await hub_a.close()  # its tasks stop; no disconnect is ever published
        for _ in range(12):
            await doctor.conn.submit(Ping())
            await asyncio.sleep(0.1)
        received = []
        while not doctor.inbox.empty():
            received.append(doctor.inbox.get_nowait())
        kinds = [m.type for m in received if m.type != "pong"]
        assert kinds == ["presence", "peer_left"]
        left = received[[m.type for m in received].index("peer_left")]
        assert isinstance(left, PeerLeft) and left.reason == "expired"
        await crashed.__aexit__(None, None, None)
    assert ("left", "pt-1") in seen_b.kinds()
    await hub_b.close()
    await backend.close()
