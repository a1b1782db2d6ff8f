"""The wire protocol: parsing client frames, refusing bad ones, encoding server frames."""

from __future__ import annotations

import json

import pytest

from signaling import (
    PROTOCOL_VERSION,
    ProtocolError,
    encode_server_message,
    parse_client_message,
    parse_hello,
    parse_server_message,
    protocol_error_notice,
)
from signaling.messages import (
    MAX_FRAME_BYTES,
    Admit,
    Deny,
    EndCall,
    Hello,
    IceCandidate,
    Leave,
    Ping,
    SendChat,
    SendIce,
    SendOffer,
    SetMediaState,
)
from signaling.peers import PeerSummary
from signaling.server_messages import (
    ChatPosted,
    ErrorNotice,
    RelayedIce,
    RelayedOffer,
    Welcome,
)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ({"type": "hello", "version": 1}, Hello(version=1)),
        (
            {"type": "hello", "version": 1, "resume_token": "abc"},
            Hello(version=1, resume_token="abc"),
        ),
        ({"type": "admit", "peer_id": "pt-1"}, Admit(peer_id="pt-1")),
        ({"type": "deny", "peer_id": "pt-1", "reason": "no"}, Deny(peer_id="pt-1", reason="no")),
        ({"type": "offer", "sdp": "v=0", "to": "dr-1"}, SendOffer(sdp="v=0", to="dr-1")),
        ({"type": "ice", "candidate": None, "to": "dr-1"}, SendIce(candidate=None, to="dr-1")),
        (
            {
                "type": "ice",
                "to": "dr-1",
                "candidate": {
                    "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host",
                    "sdpMid": "0",
                    "sdpMLineIndex": 0,
                    "usernameFragment": "abcd",
                },
            },
            SendIce(
                candidate=IceCandidate(
                    candidate="candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host",
                    sdpMid="0",
                    sdpMLineIndex=0,
                    usernameFragment="abcd",
                ),
                to="dr-1",
            ),
        ),
        ({"type": "chat", "text": "hi"}, SendChat(text="hi")),
        (
            {"type": "media_state", "audio": False, "video": True},
            SetMediaState(audio=False, video=True),
        ),
        ({"type": "ping"}, Ping()),
        ({"type": "leave"}, Leave()),
        ({"type": "end_call"}, EndCall()),
    ],
)
def test_parses_every_client_message(frame: dict[str, object], expected: object) -> None:
    assert parse_client_message(json.dumps(frame)) == expected
    assert parse_client_message(json.dumps(frame).encode()) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "invalid field 'message'"),
        ('{"version": 1}', "no 'type' field"),
        ('{"type": "teleport"}', "unknown message type"),
        ('{"type": "ping", "extra": 1}', "invalid field 'extra'"),
        ('{"type": "admit"}', "invalid field 'peer_id'"),
        ('{"type": "chat", "text": ""}', "invalid field 'text'"),
        ('{"type": "chat", "text": "' + "x" * 2001 + '"}', "at most 2000"),
        ('{"type": "media_state", "audio": "yes", "video": true}', "invalid field 'audio'"),
        ('{"type": "media_state", "audio": 1, "video": true}', "invalid field 'audio'"),
        ('{"type": "offer", "sdp": "v=0", "to": "has space"}', "invalid field 'to'"),
        ('{"type": "offer", "sdp": "v=0", "to": "' + "a" * 129 + '"}', "invalid field 'to'"),
        ('{"type": "ice", "to": "a", "candidate": {"candidate": "c", "x": 1}}', "candidate.x"),
        ('{"type": "hello", "version": "1"}', "invalid field 'version'"),
    ],
)
def test_refuses_bad_frames_with_a_clear_message(raw: str, fragment: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(raw)
    assert fragment in str(caught.value)
    assert caught.value.code == "bad_message"


def test_error_messages_do_not_echo_the_input() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client_message('{"type": "chat", "text": "' + "secret diagnosis " * 200 + '"}')
    assert "secret" not in str(caught.value)


def test_refuses_oversized_frames_before_parsing() -> None:
    raw = b'{"type": "chat", "text": "' + b"x" * MAX_FRAME_BYTES + b'"}'
    with pytest.raises(ProtocolError, match="larger than"):
        parse_client_message(raw)


def test_parse_hello_checks_first_message_and_version() -> None:
    assert parse_hello('{"type": "hello", "version": 1}') == Hello(version=PROTOCOL_VERSION)
    with pytest.raises(ProtocolError, match="first message must be 'hello'") as caught:
        parse_hello('{"type": "ping"}')
    assert caught.value.code == "bad_message"
    with pytest.raises(ProtocolError, match="unsupported protocol version 2") as caught:
        parse_hello('{"type": "hello", "version": 2}')
    assert caught.value.code == "unsupported_version"
    notice = protocol_error_notice(caught.value)
    assert notice.code == "unsupported_version"


def test_server_messages_use_from_on_the_wire() -> None:
    wire = json.loads(encode_server_message(RelayedOffer(from_="dr-1", sdp="v=0")))
    assert wire == {"type": "offer", "from": "dr-1", "sdp": "v=0"}
    chat = ChatPosted(from_="pt-1", name="Pat", text="hello", at=12.5)
    assert json.loads(encode_server_message(chat)) == {
        "type": "chat",
        "from": "pt-1",
        "name": "Pat",
        "text": "hello",
        "at": 12.5,
    }
    ice = json.loads(encode_server_message(RelayedIce(from_="a", candidate=None)))
    assert ice == {"type": "ice", "from": "a", "candidate": None}


def test_server_messages_round_trip() -> None:
    welcome = Welcome(
        peer_id="pt-1",
        role="patient",
        resume_token="tok",
        state="waiting",
        peers=[
            PeerSummary(
                peer_id="dr-1",
                role="clinician",
                name="Dr",
                state="in_room",
                online=True,
                audio=True,
                video=False,
            )
        ],
        ping_interval_s=20.0,
    )
    assert parse_server_message(encode_server_message(welcome)) == welcome
    assert json.loads(encode_server_message(welcome))["protocol"] == PROTOCOL_VERSION
    offer = RelayedOffer(from_="dr-1", sdp="v=0")
    assert parse_server_message(encode_server_message(offer)) == offer
    with pytest.raises(ProtocolError):
        parse_server_message('{"type": "welcome"}')


def test_protocol_error_notice_is_a_bounded_error_message() -> None:
    notice = protocol_error_notice(ProtocolError("x" * 1000))
    assert isinstance(notice, ErrorNotice)
    assert notice.code == "bad_message" and len(notice.message) == 500
