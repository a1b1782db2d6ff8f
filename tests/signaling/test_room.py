"""RoomState driven by message lists, no sockets."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from signaling import RoomLimits, RoomState
from signaling.messages import (
    Admit,
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
from signaling.server_messages import (
    Admitted,
    Bye,
    CallEnded,
    ChatPosted,
    Denied,
    ErrorNotice,
    MediaStateChanged,
    PeerJoined,
    PeerLeft,
    Pong,
    Presence,
    QueuePosition,
    RelayedAnswer,
    RelayedIce,
    RelayedOffer,
    Welcome,
)

from .helpers import CLINICIAN, PATIENT, PATIENT2, join, kinds, peer, recipients, to


def error_code(messages: Sequence[object]) -> str:
    assert len(messages) == 1, messages
    message = messages[0]
    assert isinstance(message, ErrorNotice), message
    return message.code


@pytest.fixture
def room() -> RoomState:
    return RoomState("visit-1", RoomLimits(grace_s=30.0, heartbeat_timeout_s=60.0))


def test_full_happy_path(room: RoomState) -> None:
    out = join(room, PATIENT, 10.0, token="pt-token")
    welcome, queue = to(out, "pt-1")
    assert isinstance(welcome, Welcome)
    assert welcome.state == "waiting"
    assert welcome.resume_token == "pt-token"
    assert welcome.peers == []
    assert welcome.protocol == 1
    assert welcome.ping_interval_s == 20.0
    assert queue == QueuePosition(position=1, clinician_present=False)
    assert [p.peer_id for p in room.waiting()] == ["pt-1"]

    out = join(room, CLINICIAN, 11.0)
    welcome = to(out, "dr-1")[0]
    assert isinstance(welcome, Welcome)
    assert welcome.state == "in_room"
    # The clinician sees the waiting patient; the patient learns a clinician is here.
    assert [(p.peer_id, p.state) for p in welcome.peers] == [("pt-1", "waiting")]
    assert to(out, "pt-1") == [QueuePosition(position=1, clinician_present=True)]

    out = room.handle("dr-1", Admit(peer_id="pt-1"), 12.0)
    admitted = to(out, "pt-1")
    assert len(admitted) == 1 and isinstance(admitted[0], Admitted)
    assert [p.peer_id for p in admitted[0].peers] == ["dr-1"]
    joined = to(out, "dr-1")
    assert len(joined) == 1 and isinstance(joined[0], PeerJoined)
    assert (joined[0].peer.peer_id, joined[0].peer.state) == ("pt-1", "in_room")
    assert room.is_admitted("pt-1") and room.admitted_at("pt-1") == 12.0
    assert room.waiting() == []
    assert [p.peer_id for p in room.in_room()] == ["dr-1", "pt-1"]

    out = room.handle("dr-1", SendOffer(sdp="v=0 offer", to="pt-1"), 13.0)
    assert to(out, "pt-1") == [RelayedOffer(from_="dr-1", sdp="v=0 offer")]
    assert recipients(out) == ["pt-1"]
    out = room.handle("pt-1", SendAnswer(sdp="v=0 answer", to="dr-1"), 13.5)
    assert to(out, "dr-1") == [RelayedAnswer(from_="pt-1", sdp="v=0 answer")]
    candidate = IceCandidate(candidate="candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid="0")
    out = room.handle("pt-1", SendIce(candidate=candidate, to="dr-1"), 13.6)
    assert to(out, "dr-1") == [RelayedIce(from_="pt-1", candidate=candidate)]
    out = room.handle("pt-1", SendIce(candidate=None, to="dr-1"), 13.7)
    assert to(out, "dr-1") == [RelayedIce(from_="pt-1", candidate=None)]

    out = room.handle("pt-1", SendChat(text="hello doctor"), 14.0)
    expected = ChatPosted(from_="pt-1", name="Pat One", text="hello doctor", at=14.0)
    assert to(out, "pt-1") == [expected] and to(out, "dr-1") == [expected]

    out = room.handle("dr-1", EndCall(), 20.0)
    assert to(out, "pt-1") == [CallEnded(by="dr-1")]
    assert to(out, "dr-1") == [CallEnded(by="dr-1")]
    assert all(o.close == "call_ended" for o in out)
    assert room.ended and room.ended_by == "dr-1"
    assert room.in_room() == [] and room.waiting() == []
    kinds_seen = [(t.kind, t.peer_id) for t in room.drain_transitions()]
    assert kinds_seen == [
        ("waiting", "pt-1"),
        ("entered_room", "dr-1"),
        ("admitted", "pt-1"),
        ("call_ended", "dr-1"),
    ]
    assert room.drain_transitions() == []

    out = join(room, PATIENT, 30.0)
    assert error_code(to(out, "pt-1")) == "room_ended"
    assert out[0].close == "room_ended"
    assert error_code(to(room.handle("pt-1", Ping(), 31.0), "pt-1")) == "room_ended"


def test_queue_positions_with_two_waiting_patients(room: RoomState) -> None:
    join(room, CLINICIAN, 1.0)
    out = join(room, PATIENT, 2.0)
    assert to(out, "pt-1")[-1] == QueuePosition(position=1, clinician_present=True)
    assert kinds(out, "dr-1") == ["peer_joined"]
    out = join(room, PATIENT2, 3.0)
    assert to(out, "pt-2")[-1] == QueuePosition(position=2, clinician_present=True)
    assert to(out, "pt-1") == []  # nothing changed for the first patient
    # A waiting patient is never told about the other waiting patient.
    assert "pt-1" not in str(to(out, "pt-2"))

    out = room.handle("dr-1", Admit(peer_id="pt-1"), 4.0)
    assert to(out, "pt-2") == [QueuePosition(position=1, clinician_present=True)]

    # The clinician leaves: the remaining waiting patient learns nobody is there.
    out = room.handle("dr-1", Leave(), 5.0)
    assert to(out, "dr-1") == [Bye(reason="left")] and out[0].close == "left"
    assert to(out, "pt-2") == [QueuePosition(position=1, clinician_present=False)]
    left = to(out, "pt-1")
    assert len(left) == 1 and isinstance(left[0], PeerLeft) and left[0].reason == "left"


def test_queue_renumbered_when_a_waiting_patient_expires(room: RoomState) -> None:
    join(room, CLINICIAN, 0.0)
    for i, who in enumerate((PATIENT, PATIENT2, peer("pt-3")), start=1):
        join(room, who, float(i))
    room.disconnect("pt-1", 10.0)
    room.handle("dr-1", Ping(), 39.0)
    room.handle("pt-2", Ping(), 39.0)
    room.handle("pt-3", Ping(), 39.0)
    out = room.expire(40.0)
    assert to(out, "pt-1") == [Bye(reason="expired")]
    assert to(out, "pt-2") == [QueuePosition(position=1, clinician_present=True)]
    assert to(out, "pt-3") == [QueuePosition(position=2, clinician_present=True)]
    assert [p.peer_id for p in room.waiting()] == ["pt-2", "pt-3"]
    left = to(out, "dr-1")
    assert len(left) == 1 and isinstance(left[0], PeerLeft) and left[0].reason == "expired"


def test_only_a_clinician_in_the_room_admits_denies_and_ends(room: RoomState) -> None:
    join(room, PATIENT, 1.0)
    join(room, PATIENT2, 1.5)
    # A waiting patient can do none of it.
    for message in (Admit(peer_id="pt-2"), Deny(peer_id="pt-2"), EndCall()):
        out = room.handle("pt-1", message, 2.0)
        assert recipients(out) == ["pt-1"]
        assert error_code(to(out, "pt-1")) == "not_in_room"
    join(room, CLINICIAN, 3.0)
    room.handle("dr-1", Admit(peer_id="pt-1"), 4.0)
    # An admitted patient is in the room but still not allowed.
    for message in (Admit(peer_id="pt-2"), Deny(peer_id="pt-2"), EndCall()):
        out = room.handle("pt-1", message, 5.0)
        assert recipients(out) == ["pt-1"]
        assert error_code(to(out, "pt-1")) == "not_allowed"
    assert [p.peer_id for p in room.waiting()] == ["pt-2"]
    assert not room.ended
    # The clinician cannot admit somebody who is not waiting.
    assert error_code(to(room.handle("dr-1", Admit(peer_id="pt-1"), 6.0), "dr-1")) == "not_waiting"
    assert error_code(to(room.handle("dr-1", Admit(peer_id="x"), 6.0), "dr-1")) == "not_waiting"


def test_deny_removes_the_patient_with_a_reason(room: RoomState) -> None:
    join(room, CLINICIAN, 1.0)
    join(room, PATIENT, 2.0)
    join(room, PATIENT2, 3.0)
    room.drain_transitions()
    out = room.handle("dr-1", Deny(peer_id="pt-1", reason="wrong visit"), 4.0)
    assert to(out, "pt-1") == [Denied(reason="wrong visit")]
    assert [o.close for o in out if o.to == "pt-1"] == ["denied"]
    assert to(out, "pt-2") == [QueuePosition(position=1, clinician_present=True)]
    left = to(out, "dr-1")
    assert len(left) == 1 and isinstance(left[0], PeerLeft) and left[0].reason == "denied"
    assert room.peer("pt-1") is None
    (transition,) = room.drain_transitions()
    assert (transition.kind, transition.peer_id, transition.by) == ("denied", "pt-1", "dr-1")
    assert transition.reason == "wrong visit"
    # The denied patient may try again; it is a fresh join into the queue.
    out = join(room, PATIENT, 5.0)
    assert to(out, "pt-1")[-1] == QueuePosition(position=2, clinician_present=True)


def test_relay_only_between_peers_in_the_room(room: RoomState) -> None:
    join(room, CLINICIAN, 1.0)
    join(room, PATIENT, 2.0)
    # Waiting patient cannot send, and nobody can send to a waiting patient.
    out = room.handle("pt-1", SendOffer(sdp="x", to="dr-1"), 3.0)
    assert recipients(out) == ["pt-1"] and error_code(to(out, "pt-1")) == "not_in_room"
    out = room.handle("dr-1", SendOffer(sdp="x", to="pt-1"), 3.0)
    assert recipients(out) == ["dr-1"] and error_code(to(out, "dr-1")) == "unknown_peer"
    out = room.handle("dr-1", SendOffer(sdp="x", to="nobody"), 3.0)
    assert error_code(to(out, "dr-1")) == "unknown_peer"
    out = room.handle("dr-1", SendOffer(sdp="x", to="dr-1"), 3.0)
    assert error_code(to(out, "dr-1")) == "unknown_peer"
    room.handle("dr-1", Admit(peer_id="pt-1"), 4.0)
    room.disconnect("pt-1", 5.0)
    out = room.handle("dr-1", SendAnswer(sdp="x", to="pt-1"), 6.0)
    assert error_code(to(out, "dr-1")) == "peer_unavailable"


def test_chat_reaches_the_room_only(room: RoomState) -> None:
    join(room, CLINICIAN, 1.0)
    join(room, PATIENT, 2.0)
    join(room, PATIENT2, 2.5)
    room.handle("dr-1", Admit(peer_id="pt-1"), 3.0)
    out = room.handle("dr-1", SendChat(text="Can you hear me?"), 4.0)
    assert recipients(out) == ["dr-1", "pt-1"]
    message = to(out, "pt-1")[0]
    assert isinstance(message, ChatPosted)
    assert (message.from_, message.name, message.at) == ("dr-1", "Dr Grey", 4.0)
    assert error_code(to(room.handle("pt-2", SendChat(text="hi"), 5.0), "pt-2")) == "not_in_room"


def test_media_state_fans_out_and_shows_in_summaries(room: RoomState) -> None:
    join(room, CLINICIAN, 1.0)
    join(room, PATIENT, 2.0)
    # Muting while waiting is remembered, not announced.
    assert room.handle("pt-1", SetMediaState(audio=False, video=True), 2.5) == []
    out = room.handle("dr-1", Admit(peer_id="pt-1"), 3.0)
    joined = to(out, "dr-1")[0]
    assert isinstance(joined, PeerJoined) and joined.peer.audio is False
    out = room.handle("dr-1", SetMediaState(audio=True, video=False), 4.0)
    assert to(out, "pt-1") == [MediaStateChanged(peer_id="dr-1", audio=True, video=False)]
    assert to(out, "dr-1") == []
    summary = room.peer("dr-1")
    assert summary is not None and (summary.audio, summary.video) == (True, False)


def test_ping_pong_and_hello_twice(room: RoomState) -> None:
    join(room, PATIENT, 1.0)
    assert to(room.handle("pt-1", Ping(), 2.0), "pt-1") == [Pong()]
    out = room.handle("pt-1", Hello(version=1), 2.0)
    assert error_code(to(out, "pt-1")) == "already_joined"


def test_resume_within_grace_keeps_the_place(room: RoomState) -> None:
    join(room, CLINICIAN, 1.0)
    join(room, PATIENT, 2.0, token="first")
    room.handle("dr-1", Admit(peer_id="pt-1"), 3.0)
    out = room.disconnect("pt-1", 10.0)
    assert to(out, "dr-1") == [Presence(peer_id="pt-1", online=False)]
    summary = room.peer("pt-1")
    assert summary is not None and summary.online is False
    assert room.next_deadline() == 40.0

    out = join(room, PATIENT, 39.0, token="second", resume_token="first")
    welcome = to(out, "pt-1")[0]
    assert isinstance(welcome, Welcome)
    assert welcome.state == "in_room" and welcome.resume_token == "second"
    assert [p.peer_id for p in welcome.peers] == ["dr-1"]
    assert to(out, "dr-1") == [Presence(peer_id="pt-1", online=True)]
    assert room.connection_of("pt-1") == "second"
    # The old token is spent: a stale one no longer resumes.
    room.disconnect("pt-1", 45.0)
    out = join(room, PATIENT, 46.0, token="third", resume_token="first")
    assert kinds(out, "pt-1") == ["bye", "welcome", "queue"]
    assert [o.connection_id for o in out if o.to == "pt-1"] == ["second", "third", "third"]
    waiting = to(out, "pt-1")[-2]
    assert isinstance(waiting, Welcome) and waiting.state == "waiting"


def test_resume_of_a_waiting_patient_keeps_queue_position(room: RoomState) -> None:
    join(room, PATIENT, 1.0, token="a")
    join(room, PATIENT2, 2.0, token="b")
    room.disconnect("pt-1", 3.0)
    out = join(room, PATIENT, 4.0, token="a2", resume_token="a")
    assert kinds(out, "pt-1") == ["welcome", "queue"]
    assert to(out, "pt-1")[1] == QueuePosition(position=1, clinician_present=False)
    assert to(out, "pt-2") == []


def test_resume_while_still_online_replaces_the_old_connection(room: RoomState) -> None:
    join(room, CLINICIAN, 1.0, token="c1")
    out = room.join(CLINICIAN, 2.0, token="c2", resume_token="c1", connection_id="conn-2")
    assert [(o.connection_id, o.message.type, o.close) for o in out] == [
        ("c1", "bye", "replaced"),
        ("conn-2", "welcome", None),
    ]
    # A message from the replaced connection is refused, the session is unaffected.
    out = room.handle("dr-1", Ping(), 3.0, connection_id="c1")
    assert error_code(to(out, "dr-1")) == "replaced" and out[0].close == "replaced"
    assert room.disconnect("dr-1", 3.0, connection_id="c1") == []
    summary = room.peer("dr-1")
    assert summary is not None and summary.online


def test_rejoin_after_grace_starts_over(room: RoomState) -> None:
    join(room, CLINICIAN, 1.0)
    join(room, PATIENT, 2.0, token="first")
    room.handle("dr-1", Admit(peer_id="pt-1"), 3.0)
    room.disconnect("pt-1", 10.0)
    room.handle("dr-1", Ping(), 30.0)
    out = join(room, PATIENT, 40.0, token="second", resume_token="first")
    # Grace ran out at 40: the old session expires first, then a fresh join queues.
    assert [m.type for m in to(out, "pt-1")] == ["bye", "welcome", "queue"]
    assert to(out, "pt-1")[2] == QueuePosition(position=1, clinician_present=True)
    dr_kinds = [(m.type, getattr(m, "reason", None)) for m in to(out, "dr-1")]
    assert dr_kinds == [("peer_left", "expired"), ("peer_joined", None)]
    assert room.is_admitted("pt-1")  # the history stays, the place does not
    assert [p.peer_id for p in room.waiting()] == ["pt-1"]


def test_join_without_token_replaces_a_present_session(room: RoomState) -> None:
    join(room, CLINICIAN, 1.0, token="c1")
    join(room, PATIENT, 2.0, token="p1")
    room.handle("dr-1", Admit(peer_id="pt-1"), 3.0)
    out = join(room, PATIENT, 4.0, token="p2")
    assert [(o.connection_id, o.message.type) for o in out if o.to == "pt-1"] == [
        ("p1", "bye"),
        ("p2", "welcome"),
        ("p2", "queue"),
    ]
    left = [m for m in to(out, "dr-1") if isinstance(m, PeerLeft)]
    assert left[0].reason == "replaced"


def test_heartbeat_expiry_then_recovery_or_removal(room: RoomState) -> None:
    join(room, CLINICIAN, 0.0)
    join(room, PATIENT, 0.0)
    room.handle("dr-1", Admit(peer_id="pt-1"), 1.0)
    room.handle("dr-1", Ping(), 55.0)
    assert room.next_deadline() == 60.0  # patient last seen at 0
    out = room.expire(60.0)
    assert to(out, "dr-1") == [Presence(peer_id="pt-1", online=False)]
    assert room.next_deadline() == 90.0
    # A message from the silent patient brings it back.
    out = room.handle("pt-1", Ping(), 70.0)
    assert to(out, "dr-1") == [Presence(peer_id="pt-1", online=True)]
    assert to(out, "pt-1") == [Pong()]
    # Silent again: offline at 130, removed at 160.
    room.handle("dr-1", Ping(), 120.0)
    assert [m.type for m in to(room.expire(135.0), "dr-1")] == ["presence"]
    out = room.expire(160.0)
    assert to(out, "pt-1") == [Bye(reason="expired")]
    assert room.peer("pt-1") is None


def test_messages_before_join_and_unknown_peers_get_an_error_only(room: RoomState) -> None:
    join(room, CLINICIAN, 1.0)
    out = room.handle("stranger", SendChat(text="hi"), 2.0, connection_id="c-x")
    assert recipients(out) == ["stranger"]
    assert out[0].connection_id == "c-x"
    assert error_code(to(out, "stranger")) == "not_joined"
    assert room.disconnect("stranger", 2.0) == []
    assert room.handle("stranger", Leave(), 2.0)[0].message.type == "error"


def test_capacity_limits() -> None:
    room = RoomState("v", RoomLimits(max_in_room=2, max_waiting=1))
    join(room, CLINICIAN, 1.0)
    join(room, peer("dr-2", "clinician"), 1.0)
    out = join(room, peer("dr-3", "clinician"), 1.0)
    assert error_code(to(out, "dr-3")) == "room_full" and out[0].close == "room_full"
    join(room, PATIENT, 2.0)
    out = join(room, PATIENT2, 2.0)
    assert error_code(to(out, "pt-2")) == "room_full"
    out = room.handle("dr-1", Admit(peer_id="pt-1"), 3.0)
    assert error_code(to(out, "dr-1")) == "room_full"


def test_time_never_goes_backwards(room: RoomState) -> None:
    join(room, CLINICIAN, 100.0)
    join(room, PATIENT, 50.0)  # another process's clock lags
    assert room.now == 100.0
    summary = room.peer("pt-1")
    assert summary is not None and summary.online
    room.handle("dr-1", Ping(), float("nan"))
    assert room.now == 100.0


def test_injected_caption_and_status(room: RoomState) -> None:
    from signaling import Caption, Status

    join(room, CLINICIAN, 1.0)
    join(room, PATIENT, 2.0)
    join(room, PATIENT2, 2.0)
    room.handle("dr-1", Admit(peer_id="pt-1"), 3.0)
    caption = Caption(
        speaker="pt-1",
        speaker_name="Pat One",
        text="my chest hurts",
        final=True,
        segment_id="seg-1",
        start_s=1.0,
        end_s=2.5,
    )
    out = room.inject_caption(caption, 4.0)
    assert recipients(out) == ["dr-1", "pt-1"]
    assert to(out, "dr-1") == [caption]
    status = Status(event="urgent_intake", detail="chest pain")
    assert recipients(room.inject_status(status, 5.0, audience="clinicians")) == ["dr-1"]
    assert recipients(room.inject_status(status, 5.0)) == ["dr-1", "pt-1"]
    assert recipients(room.inject_status(status, 5.0, audience="everyone")) == [
        "dr-1",
        "pt-1",
        "pt-2",
    ]


def test_observer_and_interpreter_wait_like_patients(room: RoomState) -> None:
    join(room, CLINICIAN, 1.0)
    out = join(room, peer("int-1", "interpreter"), 2.0)
    assert kinds(out, "int-1") == ["welcome", "queue"]
    room.handle("dr-1", Admit(peer_id="int-1"), 3.0)
    out = room.handle("int-1", EndCall(), 4.0)
    assert error_code(to(out, "int-1")) == "not_allowed"


def test_every_outbound_carries_the_current_connection(room: RoomState) -> None:
    room.join(CLINICIAN, 1.0, token="tok-dr", connection_id="conn-dr")
    out = room.join(PATIENT, 2.0, token="tok-pt", connection_id="conn-pt")
    assert {(o.to, o.connection_id) for o in out} == {
        ("pt-1", "conn-pt"),
        ("dr-1", "conn-dr"),
    }
