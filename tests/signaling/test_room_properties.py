"""Property tests: random input sequences never make RoomState raise, keep its invariants,
and two replicas fed the same serialized events agree on every output."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from signaling import Caption, Outbound, RoomLimits, RoomState
from signaling.events import (
    CaptionEvent,
    DisconnectEvent,
    ExpireEvent,
    JoinEvent,
    MessageEvent,
    RoomEvent,
    StatusEvent,
    apply_event,
    decode_event,
    encode_event,
)
from signaling.messages import (
    Admit,
    ClientMessage,
    Deny,
    EndCall,
    Hello,
    IceCandidate,
    Leave,
    Ping,
    SendAnswer,
    SendChat,
    SendIce,
    SendOffer,
    SetMediaState,
)
from signaling.server_messages import QueuePosition, Status

from .helpers import peer

PEERS = [
    peer("dr-1", "clinician"),
    peer("dr-2", "clinician"),
    peer("pt-1"),
    peer("pt-2"),
    peer("pt-3"),
    peer("int-1", "interpreter"),
]
IDS = [p.peer_id for p in PEERS] + ["stranger"]

target = st.sampled_from(IDS)
client_messages: st.SearchStrategy[ClientMessage] = st.one_of(
    st.builds(Admit, peer_id=target),
    st.builds(Deny, peer_id=target, reason=st.none() | st.text(max_size=20)),
    st.builds(SendOffer, sdp=st.just("v=0"), to=target),
    st.builds(SendAnswer, sdp=st.just("v=0"), to=target),
    st.builds(
        SendIce,
        candidate=st.none() | st.just(IceCandidate(candidate="candidate:1", sdpMid="0")),
        to=target,
    ),
    st.builds(SendChat, text=st.text(min_size=1, max_size=30)),
    st.builds(SetMediaState, audio=st.booleans(), video=st.booleans()),
    st.just(Ping()),
    st.just(Leave()),
    st.just(EndCall()),
    st.just(Hello(version=1)),
)

step = st.one_of(
    st.tuples(
        st.just("join"), st.integers(0, len(PEERS) - 1), st.sampled_from(["", "last", "bad"])
    ),
    st.tuples(st.just("msg"), st.sampled_from(IDS), client_messages, st.booleans()),
    st.tuples(st.just("disconnect"), st.sampled_from(IDS), st.booleans()),
    st.tuples(st.just("expire")),
    st.tuples(st.just("caption")),
    st.tuples(st.just("status"), st.sampled_from(["in_room", "everyone", "clinicians"])),
)
steps = st.lists(st.tuples(step, st.floats(-5.0, 45.0)), max_size=60)


def build_events(program: list[tuple[tuple[Any, ...], float]]) -> list[RoomEvent]:
    """Turn a random program into the room events a hub would publish."""
    events: list[RoomEvent] = []
    now = 1000.0
    tokens: dict[str, list[str]] = {}
    for n, (action, delta) in enumerate(program):
        now += delta
        stamp = {"event_id": f"e{n}", "origin": "hub-a", "now": now}
        kind = action[0]
        if kind == "join":
            who = PEERS[action[1]]
            issued = tokens.setdefault(who.peer_id, [])
            resume = {"": None, "last": issued[-1] if issued else None, "bad": "nope"}[action[2]]
            token = f"tok{n}"
            issued.append(token)
            events.append(
                JoinEvent(**stamp, peer=who, connection_id=token, token=token, resume_token=resume)
            )
        elif kind in ("msg", "disconnect"):
            peer_id = action[1]
            issued = tokens.get(peer_id, [])
            # Either the latest connection of that peer, or a stale or unknown one.
            fresh = action[-1]
            conn = issued[-1] if issued and fresh else (issued[0] if issued else "conn-x")
            if kind == "msg":
                events.append(
                    MessageEvent(**stamp, peer_id=peer_id, connection_id=conn, message=action[2])
                )
            else:
                events.append(DisconnectEvent(**stamp, peer_id=peer_id, connection_id=conn))
        elif kind == "expire":
            events.append(ExpireEvent(**stamp))
        elif kind == "caption":
            caption = Caption(
                speaker="pt-1",
                speaker_name="Pat",
                text="words",
                final=True,
                segment_id=f"s{n}",
                start_s=0.0,
                end_s=1.0,
            )
            events.append(CaptionEvent(**stamp, caption=caption))
        else:
            events.append(StatusEvent(**stamp, status=Status(event="note"), audience=action[1]))
    return events


def check_invariants(room: RoomState, out: list[Outbound]) -> None:
    assert all(o.to in IDS for o in out)
    waiting = room.waiting()
    in_room = room.in_room()
    assert all(p.state == "waiting" for p in waiting)
    assert all(p.state == "in_room" for p in in_room)
    assert not {p.peer_id for p in waiting} & {p.peer_id for p in in_room}
    if room.ended:
        assert waiting == [] and in_room == []
    # The last queue message each waiting peer got, if any, names a valid place.
    for o in out:
        if isinstance(o.message, QueuePosition):
            assert 1 <= o.message.position <= len(waiting)
    for p in waiting + in_room:
        assert room.connection_of(p.peer_id) is not None


@settings(max_examples=200, deadline=None)
@given(steps)
def test_random_sequences_never_raise_and_replicas_agree(
    program: list[tuple[tuple[Any, ...], float]],
) -> None:
    limits = RoomLimits(grace_s=30.0, heartbeat_timeout_s=60.0, max_in_room=4, max_waiting=3)
    first = RoomState("visit", limits)
    second = RoomState("visit", limits)
    for event in build_events(program):
        out = apply_event(first, event)
        check_invariants(first, out)
        replayed = apply_event(second, decode_event(encode_event(event)))
        assert [(o.to, o.connection_id, o.close, o.message.model_dump()) for o in out] == [
            (o.to, o.connection_id, o.close, o.message.model_dump()) for o in replayed
        ]
        assert first.drain_transitions() == second.drain_transitions()
    assert first.waiting() == second.waiting()
    assert first.in_room() == second.in_room()
    assert first.ended == second.ended


@settings(max_examples=60, deadline=None)
@given(steps)
def test_expire_at_the_next_deadline_always_makes_progress(
    program: list[tuple[tuple[Any, ...], float]],
) -> None:
    room = RoomState("visit")
    for event in build_events(program):
        apply_event(room, event)
    for _ in range(50):
        deadline = room.next_deadline()
        if deadline is None:
            break
        before = (room.waiting(), room.in_room())
        room.expire(deadline)
        assert (room.waiting(), room.in_room()) != before
    assert room.next_deadline() is None
    assert room.waiting() == [] and room.in_room() == []
