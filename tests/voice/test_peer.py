"""The assistant peer end to end on loopback: a real aiortc client sends a WAV as its
microphone, gets recognition events on the data channel and synthesized speech back.

Real Whisper tiny.en and Vosk (Korean) models, real espeak-ng speech, real Opus over
real DTLS/SRTP; nothing is faked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
import pytest_asyncio
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame
from rapidfuzz import fuzz

from tests.voice.speech_helpers import espeak, normalize_words
from voice.audio import read_wav, write_wav
from voice.engines import load_engine
from voice.errors import VoiceError
from voice.peer import AssistantPeer
from voice.peer_events import (
    AssistantPeerError,
    ClientMessage,
    PeerClosed,
    PeerEvent,
    Recognized,
)
from voice.peer_messages import EVENT_TYPES, ChannelMessage
from voice.recognition import Final, NotUnderstood, SpeechEngine
from voice.tts import SpeechSynthesizer

pytestmark = pytest.mark.slow

SILENCE_RMS = 0.003  # Opus-decoded digital silence is exactly 0; allow codec noise
SPEECH_RMS = 0.02


@pytest.fixture(scope="module")
def whisper() -> Iterator[SpeechEngine]:
    engine = load_engine("whisper", "en", models_dir=None)
    yield engine
    asyncio.run(engine.close())


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("peer-speech")


def padded_speech(
    path: Path, texts: list[str], *, voice: str = "en-us", lead_s: float = 0.5, gap_s: float = 1.5
) -> Path:
    """espeak-ng speech of each text, with silence before, between and after (22050 Hz)."""
    pieces: list[np.ndarray] = []
    rate = 0
    for index, text in enumerate(texts):
        wav = read_wav(espeak(text, path.with_name(f"{path.stem}-{index}.wav"), voice=voice))
        rate = wav.sample_rate
        pieces += [np.zeros(int((gap_s if index else lead_s) * rate), np.int16)]
        pieces += [np.frombuffer(wav.data, dtype="<i2")]
    pieces.append(np.zeros(int(gap_s * rate), np.int16))
    write_wav(path, np.concatenate(pieces).astype("<i2").tobytes(), rate)
    return path


class PageTest(ChannelMessage):
    """An app message for the inbound test (the app's real ones live in telehealth)."""

    type: Literal["page"] = "page"
    page: str


async def eventually(condition: Callable[[], bool], timeout_s: float) -> None:
    """Wait until `condition()` holds, polling; TimeoutError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.05)


class LoopbackClient:
    """A participant's browser stand-in: microphone from a WAV, the "assistant" data channel,
    and the RMS of every frame received on the assistant's audio track."""

    def __init__(
        self, wav: Path | None, *, channel_id: int | None = None, subscribe: list[str] | None = None
    ) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.player = MediaPlayer(str(wav)) if wav is not None else None
        if self.player is not None and self.player.audio is not None:
            self.pc.addTrack(self.player.audio)
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
        self.channel = self.pc.createDataChannel(
            "assistant", negotiated=channel_id is not None, id=channel_id
        )
        self.messages: list[dict[str, Any]] = []
        self.channel.on("message", self._on_message)
        if subscribe is not None:  # as a page does once its channel opens
            message = json.dumps({"type": "subscribe", "events": subscribe})
            self.channel.on("open", lambda: self.channel.send(message))
        self.received: list[tuple[float, float, int]] = []  # (monotonic time, rms, pts)
        self._reader: asyncio.Task[None] | None = None
        self.pc.on("track", self._on_track)

    def _on_message(self, message: str | bytes) -> None:
        assert isinstance(message, str)
        self.messages.append(json.loads(message))

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._reader = asyncio.create_task(self._read(track), name="test-client-audio")

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            assert isinstance(frame, AudioFrame)
            samples = frame.to_ndarray().astype(np.float64) / 32768.0
            rms = float(np.sqrt(np.mean(samples**2)))
            self.received.append((time.monotonic(), rms, int(frame.pts or 0)))

    async def connect(self, peer: AssistantPeer) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = self.pc.localDescription
        answer = await peer.accept_offer(offer.sdp, offer.type)
        assert answer.type == "answer" and "a=candidate" in answer.sdp
        await self.pc.setRemoteDescription(answer)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    async def wait_for(self, kind: str, count: int = 1, timeout_s: float = 20.0) -> None:
        await eventually(lambda: len(self.of_type(kind)) >= count, timeout_s)

    def rms_since(self, moment: float) -> list[float]:
        return [rms for at, rms, _ in self.received if at >= moment]

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait({self._reader}, timeout=5)
        await self.pc.close()


@pytest_asyncio.fixture
async def synthesizer() -> AsyncIterator[SpeechSynthesizer]:
    async with SpeechSynthesizer(default_voice="en-us") as synthesizer:
        yield synthesizer


def speaking(peer: AssistantPeer) -> bool:
    """`is_speaking`, read through a call so the type checker does not pin it after an assert."""
    return peer.is_speaking


def similar(text: str, expected: str) -> float:
    return fuzz.ratio(" ".join(normalize_words(text)), " ".join(normalize_words(expected)))


EXPECTED = "please mute my microphone"


@pytest.mark.asyncio
async def test_speech_in_finals_out_and_spoken_prompt_back(
    whisper: SpeechEngine, speech_dir: Path, synthesizer: SpeechSynthesizer
) -> None:
    wav = padded_speech(speech_dir / "mute.wav", [EXPECTED])
    events: list[PeerEvent] = []

    async def consume(event: PeerEvent) -> None:
        events.append(event)

    peer = AssistantPeer(whisper, synthesizer=synthesizer, on_event=consume, name="peer-e2e")
    client = LoopbackClient(wav, subscribe=["final"])  # the page asks for finals only
    try:
        await client.connect(peer)
        await client.wait_for("final")

        def heard_so_far() -> str:
            return " ".join(str(f["text"]) for f in client.of_type("final"))

        # A loaded machine may end the utterance at the short pause after "mute" (segment
        # joins are issue #17's and its benchmark's): what matters here is that every word
        # comes out, in finals.
        with contextlib.suppress(TimeoutError):
            await eventually(lambda: similar(heard_so_far(), EXPECTED) >= 75, 10)
        assert similar(heard_so_far(), EXPECTED) >= 75, heard_so_far()
        final = client.of_type("final")[0]
        # Times are on the participant's clock: the speech starts 0.5 s into the WAV.
        duration = read_wav(wav).duration_s
        assert 0.2 <= final["start_s"] < final["end_s"] <= duration
        assert final["words"] and all(w["start_s"] <= w["end_s"] for w in final["words"])
        heard = [e.event for e in events if isinstance(e, Recognized)]
        assert any(isinstance(e, Final) and e.text == final["text"] for e in heard)

        # The return track carries silence until the assistant speaks...
        await asyncio.sleep(0.5)
        before = time.monotonic()
        await asyncio.sleep(0.6)
        quiet = client.rms_since(before)
        # 30 frames were due; a loaded machine may deliver fewer in the window, never sound.
        assert len(quiet) >= 10 and max(quiet) < SILENCE_RMS
        # ...and speech after `say`, reported once the page asks for it (instead of finals).
        client.channel.send(json.dumps({"type": "subscribe", "events": ["speaking", "spoken"]}))
        await eventually(lambda: peer.subscription.events == {"speaking", "spoken"}, 5)
        spoken_at = time.monotonic()
        seconds = await peer.say("Your microphone is now muted.")
        assert 1.0 < seconds < 5.0
        assert speaking(peer)
        await client.wait_for("spoken", timeout_s=seconds + 5)
        loud = [rms for rms in client.rms_since(spoken_at) if rms > SPEECH_RMS]
        assert len(loud) * 0.02 >= 0.5 * seconds  # most 20 ms frames of the prompt are voiced
        assert client.of_type("speaking") == [
            {"type": "speaking", "text": "Your microphone is now muted."}
        ]
        assert client.of_type("spoken")[0]["interrupted"] is False
        assert not client.of_type("partial") and not client.of_type("not_understood")
        assert not speaking(peer)
        # pts advance by one 20 ms Opus frame at a time (the client sees RTP time).
        steps = {b[2] - a[2] for a, b in zip(client.received, client.received[1:], strict=False)}
        assert steps <= {960, 1920}  # an occasional late packet, never a jump
    finally:
        await client.close()
        await peer.close()
    assert isinstance(events[-1], PeerClosed)


@pytest.mark.asyncio
async def test_command_mode_over_the_peer(whisper: SpeechEngine, speech_dir: Path) -> None:
    wav = padded_speech(
        speech_dir / "commands.wav", ["mute", "what a lovely garden you have there"]
    )
    queue: asyncio.Queue[PeerEvent] = asyncio.Queue(maxsize=100)
    peer = AssistantPeer(
        whisper,
        phrases=["mute", "unmute", "turn the camera off", "help"],
        on_event=queue,
        subscribed=EVENT_TYPES,
        name="peer-commands",
    )
    client = LoopbackClient(wav)
    try:
        await client.connect(peer)
        await client.wait_for("not_understood")
        assert [m["text"] for m in client.of_type("final")] == ["mute"]
        (missed,) = client.of_type("not_understood")
        assert similar(missed["heard"], "what a lovely garden you have there") >= 60
        assert client.of_type("final")[0]["end_s"] <= missed["start_s"]
        events = [queue.get_nowait() for _ in range(queue.qsize())]
        outcomes = [
            e.event
            for e in events
            if isinstance(e, Recognized) and isinstance(e.event, Final | NotUnderstood)
        ]
        assert [type(e) for e in outcomes] == [Final, NotUnderstood]
    finally:
        await client.close()
        await peer.close()


@pytest.mark.asyncio
async def test_stop_delivers_the_utterance_in_progress(
    whisper: SpeechEngine, speech_dir: Path
) -> None:
    wav = padded_speech(
        speech_dir / "long.wav", ["please mute my microphone and then turn off my camera"]
    )
    events: list[PeerEvent] = []

    async def consume(event: PeerEvent) -> None:
        events.append(event)

    peer = AssistantPeer(whisper, on_event=consume, subscribed=EVENT_TYPES, name="peer-stop")
    client = LoopbackClient(wav)
    try:
        await client.connect(peer)
        await client.wait_for("partial")  # mid-sentence
        assert not client.of_type("final")
        await peer.stop(timeout_s=10)
        # The sentence was cut short, but what was heard of it arrived as a final, on the
        # data channel (still open while the recognizer flushed) and to the consumer.
        (final,) = client.of_type("final")
        assert "mute" in final["text"].lower()
        assert peer.closed and isinstance(events[-1], PeerClosed)
        finals = [e.event for e in events if isinstance(e, Recognized)]
        assert isinstance(finals[-1], Final) and finals[-1].text == final["text"]
    finally:
        await client.close()
        await peer.close()


@pytest.mark.asyncio
async def test_client_closing_closes_everything(whisper: SpeechEngine, speech_dir: Path) -> None:
    wav = padded_speech(speech_dir / "hello.wav", ["hello there"])
    peer = AssistantPeer(whisper, name="peer-closing")
    client = LoopbackClient(wav)
    await client.connect(peer)
    await eventually(lambda: peer.connection_state == "connected", 10)
    assert [t for t in peer.tasks() if not t.done()]  # reading and recognizing
    await client.close()
    assert await peer.wait_closed(10)
    assert peer.connection_state == "closed"
    assert all(task.done() for task in peer.tasks())
    mine = [t for t in asyncio.all_tasks() if t.get_name().startswith("peer-closing")]
    assert mine == []
    await peer.close()  # idempotent
    with pytest.raises(AssistantPeerError):
        await peer.say("anyone there?")


@pytest.mark.asyncio
async def test_a_client_gone_before_connecting_is_timed_out(whisper: SpeechEngine) -> None:
    # Left alone, aiortc would stay "connecting" for good (measured: still so after 60 s).
    client = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    client.addTransceiver("audio")
    client.createDataChannel("assistant")
    await client.setLocalDescription(await client.createOffer())
    events: asyncio.Queue[PeerEvent] = asyncio.Queue(maxsize=10)
    peer = AssistantPeer(whisper, on_event=events, connect_timeout_s=1.0, name="peer-gone")
    await peer.accept_offer(client.localDescription.sdp)
    await client.close()  # never applies the answer
    assert await peer.wait_closed(5)
    assert events.get_nowait() == PeerClosed("connection timed out")
    assert peer.connection_state == "closed"
    assert all(task.done() for task in peer.tasks())


@pytest.mark.asyncio
async def test_offers_the_peer_cannot_serve_are_refused(whisper: SpeechEngine) -> None:
    peer = AssistantPeer(whisper, name="peer-refuse")
    with pytest.raises(AssistantPeerError, match="offer"):
        await peer.accept_offer("v=0\r\n", "answer")
    with pytest.raises(AssistantPeerError, match="offer"):
        await peer.accept_offer("this is not SDP", "offer")
    assert peer.closed and all(task.done() for task in peer.tasks())

    # An offer with a data channel but no microphone is useless to the assistant.
    client = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    client.createDataChannel("assistant")
    await client.setLocalDescription(await client.createOffer())
    second = AssistantPeer(whisper, name="peer-refuse-2")
    with pytest.raises(AssistantPeerError, match="no audio"):
        await second.accept_offer(client.localDescription.sdp)
    await client.close()
    assert second.closed
    with pytest.raises(VoiceError):
        AssistantPeer(whisper, phrases=[])
    with pytest.raises(VoiceError):
        AssistantPeer(whisper, phrases=["help"]).set_phrases(["  "])


@pytest.mark.asyncio
async def test_korean_commands_with_vosk(speech_dir: Path) -> None:
    # The Korean model decodes espeak-ng's robotic dictation poorly (also without WebRTC),
    # so Korean runs in command mode, which is what voice navigation uses.
    engine = load_engine("vosk", "ko", models_dir=None)
    commands = ["카메라 꺼", "음소거", "안녕하세요", "아니요", "도움말"]
    wav = padded_speech(speech_dir / "ko.wav", ["카메라 꺼", "음소거"], voice="ko")
    # Also: a negotiated data channel, created by both sides with an agreed id.
    peer = AssistantPeer(
        engine, phrases=commands, channel_id=3, subscribed=EVENT_TYPES, name="peer-korean"
    )
    client = LoopbackClient(wav, channel_id=3)
    try:
        await client.connect(peer)
        await client.wait_for("final", count=2)
        assert [m["text"] for m in client.of_type("final")] == ["카메라 꺼", "음소거"]
        assert not client.of_type("not_understood")
    finally:
        await client.close()
        await peer.close()
        await engine.close()


@pytest.mark.asyncio
async def test_app_messages_from_the_browser_reach_the_app_and_junk_does_not(
    whisper: SpeechEngine, speech_dir: Path
) -> None:
    silence = speech_dir / "silence.wav"
    write_wav(silence, np.zeros(16000 * 5, np.int16).tobytes(), 16000)
    events: list[PeerEvent] = []

    async def consume(event: PeerEvent) -> None:
        events.append(event)

    peer = AssistantPeer(
        whisper, on_event=consume, client_messages={"page": PageTest}, name="peer-inbound"
    )
    client = LoopbackClient(silence)
    try:
        await client.connect(peer)
        await eventually(lambda: client.channel.readyState == "open", 10)
        junk: list[tuple[str | bytes, str]] = [
            (b"\x00binary", "not_json"),
            ("not json", "not_json"),
            ("[1, 2]", "not_json"),
            ('{"type": 3}', "not_json"),
            ('{"type": "say", "text": "hello"}', "unknown_type"),  # not accepted here
            ('{"type": "page", "page": 7}', "invalid"),
            ('{"type": "page", "page": "waiting", "secret": "x"}', "invalid"),
            (json.dumps({"type": "page", "page": "x" * 5000}), "too_big"),
        ]
        for data, _code in junk:
            client.channel.send(data)
        client.channel.send(json.dumps({"type": "page", "page": "waiting"}))
        await eventually(lambda: any(isinstance(e, ClientMessage) for e in events), 10)
        await client.wait_for("error", count=len(junk))
        received = [e for e in events if isinstance(e, ClientMessage)]
        assert received == [ClientMessage(PageTest(page="waiting"))]
        assert [m["code"] for m in client.of_type("error")] == [code for _, code in junk]
        unexpected = client.of_type("error")[6]
        assert unexpected["detail"] == "page: unexpected fields"  # "secret" is not echoed
        assert peer.client_messages_refused == len(junk)
        assert not peer.closed  # bad input is refused, the connection goes on
    finally:
        await client.close()
        await peer.close()
