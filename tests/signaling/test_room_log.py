"""What enters a visit's log: nothing a waiting peer may not send, no captions, and the
log goes when the call ends."""

from __future__ import annotations

import pytest

from signaling import (
    Caption,
    NotAdmitted,
    RateLimited,
    RefusedRepeatedly,
    RoomHub,
    RoomState,
    RoomTransition,
)
from signaling.messages import (
    WAITING_MESSAGES,
    Admit,
    Deny,
    EndCall,
    Hello,
    Leave,
    Ping,
    SendAnswer,
    SendChat,
    SendIce,
    SendOffer,
    SetMediaState,
)

from .conftest import BackendFactory
from .helpers import CLINICIAN, PATIENT, PATIENT2, join
from .test_hub import Client, closed_with, connected, make_hub
from .test_pubsub import take

BIG_SDP = "v=0\r\n" + "a=x\r\n" * 5000


def test_waiting_messages_are_exactly_ping_leave_and_media_state() -> None:
    assert set(WAITING_MESSAGES) == {Ping, Leave, SetMediaState}


def test_a_waiting_peer_may_only_send_what_waiting_needs() -> None:
    room = RoomState("visit-1")
    join(room, CLINICIAN, 1.0)
    join(room, PATIENT, 2.0, token="pt-token")
    waiting_may = [Ping(), Leave(), SetMediaState(audio=False, video=True)]
    refused = [
        SendChat(text="let me in"),
        SendOffer(sdp=BIG_SDP, to="dr-1"),
        SendAnswer(sdp="v=0", to="dr-1"),
        SendIce(candidate=None, to="dr-1"),
        Hello(version=1),
        Admit(peer_id="pt-1"),
        Deny(peer_id="pt-1"),
        EndCall(),
    ]
    for message in waiting_may:
        assert room.accepts("pt-1", message, connection_id="pt-token"), message
    for message in refused:
        assert not room.accepts("pt-1", message, connection_id="pt-token"), message
    # Nobody who is not present gets further than a waiting peer.
    assert not room.accepts("nobody", SendChat(text="hi"))
    assert room.accepts("nobody", Ping())
    # Once admitted, over its own connection, everything goes to the room.
    room.handle("dr-1", Admit(peer_id="pt-1"), 3.0)
    assert room.accepts("pt-1", SendChat(text="hello"), connection_id="pt-token")
    assert room.accepts("pt-1", SendOffer(sdp="v=0", to="dr-1"), connection_id="pt-token")
    assert not room.accepts("pt-1", SendChat(text="hi"), connection_id="an-old-connection")
    # After the call ended, only what the room answers with "the call has ended".
    room.handle("dr-1", EndCall(), 4.0)
    assert not room.accepts("dr-1", SendChat(text="still there?"))
    assert room.accepts("dr-1", Ping())


def test_a_live_caption_reaches_the_room_and_changes_nothing() -> None:
    room = RoomState("visit-1")
    join(room, CLINICIAN, 1.0)
    join(room, PATIENT, 2.0)
    join(room, PATIENT2, 2.0)
    room.handle("dr-1", Admit(peer_id="pt-1"), 3.0)
    caption = Caption(
        speaker="pt-1",
        speaker_name="Pat One",
        text="it hurts",
        final=False,
        segment_id="pt-1-0",
        start_s=1.0,
        end_s=1.0,
    )
    # Long after everybody's heartbeat ran out: a logged input would expire them all.
    late = room.now + 10 * room.limits.heartbeat_timeout_s
    out = room.live_caption(caption)
    assert sorted(o.to for o in out) == ["dr-1", "pt-1"]  # not the waiting pt-2
    assert all(o.message == caption for o in out)
    assert room.now == 3.0
    assert [p.peer_id for p in room.in_room()] == ["dr-1", "pt-1"]
    room.expire(late)
    assert room.in_room() == []  # they were due: only the live caption spared them


@pytest.mark.asyncio
async def test_a_waiting_peer_is_refused_before_the_log(make_backend: BackendFactory) -> None:
    backend = await make_backend()
    hub = make_hub(backend, message_burst=1000.0, max_refused=5)
    doctor, patient = Client("doctor"), Client("patient")
    async with connected(hub, doctor, CLINICIAN), connected(hub, patient, PATIENT):
        await doctor.expect("welcome", "peer_joined")
        await patient.expect("welcome", "queue")
        logged = await backend.retained_bytes("visit:visit-1")
        for message in (SendChat(text="x" * 2000), SendOffer(sdp=BIG_SDP, to="dr-1")):
            with pytest.raises(NotAdmitted):
                await patient.conn.submit(message)
        assert await backend.retained_bytes("visit:visit-1") == logged
        await doctor.silent()
        # What a waiting peer needs still works.
        await patient.conn.submit(Ping())
        await patient.expect("pong")
        # Refused again and again: the connection is told to go, as for a flood.
        for _ in range(2):
            with pytest.raises(NotAdmitted):
                await patient.conn.submit(SendChat(text="let me in"))
        with pytest.raises(RefusedRepeatedly) as raised:
            await patient.conn.submit(SendChat(text="let me in"))
        assert isinstance(raised.value, RateLimited)
        # Admitted, the same patient reaches the room.
        await doctor.conn.submit(Admit(peer_id="pt-1"))
        await patient.expect("admitted")
        await doctor.expect("peer_joined")
        await patient.conn.submit(SendChat(text="hello"))
        await doctor.expect("chat")
    await hub.close()


@pytest.mark.asyncio
async def test_captions_are_shown_but_never_logged(make_backend: BackendFactory) -> None:
    backend = await make_backend()
    hub, assistant = make_hub(backend), make_hub(await make_backend())
    doctor = Client("doctor")
    async with connected(hub, doctor, CLINICIAN):
        await doctor.expect("welcome")
        logged = await backend.retained_bytes("visit:visit-1")
        for final in (False, True):
            caption = Caption(
                speaker="dr-1",
                speaker_name="Dr Grey",
                text="a caption nobody consented to keep",
                final=final,
                segment_id="dr-1-0",
                start_s=0.0,
                end_s=1.0,
            )
            await assistant.inject_caption("visit-1", caption)
            assert await doctor.expect("caption") == [caption]
        assert await backend.retained_bytes("visit:visit-1") == logged
    for each in (hub, assistant):
        await each.close()


@pytest.mark.asyncio
async def test_the_log_is_deleted_at_call_end_without_cutting_the_goodbyes(
    make_backend: BackendFactory,
) -> None:
    backend = await make_backend()
    hub: RoomHub | None = None
    stored: list[str] = []

    async def store_then_delete(visit_id: str, transition: RoomTransition) -> None:
        stored.append(transition.kind)  # the app stores the transition first
        if transition.kind == "call_ended":
            assert hub is not None
            await hub.delete_visit_log(visit_id)

    hub = make_hub(backend, on_transition=store_then_delete)
    doctor, patient = Client("doctor"), Client("patient")
    async with connected(hub, doctor, CLINICIAN), connected(hub, patient, PATIENT):
        await doctor.expect("welcome", "peer_joined")
        await patient.expect("welcome", "queue")
        await doctor.conn.submit(Admit(peer_id="pt-1"))
        await patient.expect("admitted")
        await doctor.conn.submit(SendOffer(sdp=BIG_SDP, to="pt-1"))
        await patient.expect("offer")
        assert await backend.retained_bytes("visit:visit-1") > len(BIG_SDP)
        await doctor.conn.submit(EndCall())
        await patient.expect("call_ended")
        assert await closed_with(patient) == "call_ended"
        assert await closed_with(doctor) == "call_ended"
    assert stored[-1] == "call_ended"
    assert await backend.retained_bytes("visit:visit-1") == 0
    async with backend.subscribe("visit:visit-1") as entries:
        with pytest.raises(TimeoutError):  # nothing of the visit is left to replay
            await take(entries, 1, within=0.3)
    assert hub.attached_visits() == []
    await hub.close()
