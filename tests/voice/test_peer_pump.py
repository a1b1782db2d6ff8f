"""The assistant peer's incoming audio pump with real recognizers: frames as aiortc's Opus
decoder delivers them, backpressure with a tiny backlog, phrase-list switching, stalls."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame
from rapidfuzz import fuzz

from tests.voice.speech_helpers import espeak, normalize_words
from voice.audio import convert_samples, read_wav
from voice.engines import load_engine
from voice.errors import AudioFormatError
from voice.peer import AssistantPeer
from voice.peer_events import AudioDropped, PeerClosed, PeerEvent, Recognized
from voice.peer_pump import AudioPump
from voice.recognition import Final, Partial, SpeechEngine

pytestmark = pytest.mark.slow

FRAME = 960  # 20 ms at 48 kHz, as Opus decodes


@pytest.fixture(scope="module")
def whisper() -> Iterator[SpeechEngine]:
    engine = load_engine("whisper", "en", models_dir=None)
    yield engine
    asyncio.run(engine.close())


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pump-speech")


def opus_frames(
    path: Path, *, lead_s: float = 0.5, tail_s: float = 1.0, first_pts: int = 0
) -> list[AudioFrame]:
    """A WAV as aiortc's Opus decoder delivers it: 48 kHz stereo s16 frames of 960 samples,
    with `lead_s` of silence before and `tail_s` after."""
    wav = read_wav(path)
    chunks = convert_samples(
        [wav.data],
        input_rate=wav.sample_rate,
        input_channels=wav.channels,
        input_format=wav.sample_format,
        output_rate=48_000,
        chunk_ms=1000,
    )
    mono = np.concatenate(
        [
            np.zeros(int(lead_s * 48_000), np.int16),
            *[c.samples() for c in chunks],
            np.zeros(int(tail_s * 48_000), np.int16),
        ]
    )
    mono = np.concatenate([mono, np.zeros(-mono.size % FRAME, np.int16)])
    frames = []
    for index in range(mono.size // FRAME):
        stereo = np.repeat(mono[index * FRAME : (index + 1) * FRAME], 2).reshape(1, -1)
        frame = AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = 48_000
        frame.pts = first_pts + index * FRAME
        frame.time_base = fractions.Fraction(1, 48_000)
        frames.append(frame)
    return frames


async def push_paced(pump: AudioPump, frames: list[AudioFrame], speedup: float) -> None:
    """Push frames `speedup` times faster than real time, in 160 ms batches."""
    for start in range(0, len(frames), 8):
        for frame in frames[start : start + 8]:
            pump.push_frame(frame)
        await asyncio.sleep(0.16 / speedup)


async def eventually(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.05)


def finals(events: list[PeerEvent]) -> list[Final]:
    return [e.event for e in events if isinstance(e, Recognized) and isinstance(e.event, Final)]


def similar(text: str, expected: str) -> float:
    return fuzz.ratio(" ".join(normalize_words(text)), " ".join(normalize_words(expected)))


@pytest.mark.asyncio
async def test_a_burst_drops_the_oldest_audio_and_latency_recovers(
    whisper: SpeechEngine, speech_dir: Path
) -> None:
    sentence = espeak("please mute my microphone", speech_dir / "burst.wav")
    burst = opus_frames(sentence, lead_s=0, tail_s=0) * 6  # ~10 s of speech at once
    events: list[PeerEvent] = []
    pump = AudioPump(whisper.stream, emit=events.append, max_backlog_s=0.96, name="pump-burst")
    pump.start()
    try:
        assert pump.max_backlog_chunks == 6
        for frame in burst:  # no await: the recognizer cannot take a single chunk meanwhile
            pump.push_frame(frame)
            assert pump.backlog_chunks <= 6  # memory stays bounded however much arrives
        burst_s = len(burst) * FRAME / 48_000
        assert pump.received_s == pytest.approx(burst_s, abs=0.17)
        assert pump.dropped_s == pytest.approx(pump.received_s - 0.96, abs=0.01)
        assert pump.peak_backlog_chunks == 6

        # The drop is reported before the recognizer takes the next chunk...
        await eventually(lambda: any(isinstance(e, AudioDropped) for e in events), 5)
        (dropped,) = [e for e in events if isinstance(e, AudioDropped)]
        assert dropped.seconds == pytest.approx(pump.dropped_s, abs=0.001)
        assert dropped.total_s == dropped.seconds

        # ...and speech after the burst is recognized as if nothing happened, its times on
        # the participant's clock (which counts the dropped audio).
        await eventually(lambda: pump.backlog_chunks == 0, 10)
        after = pump.received_s
        await push_paced(pump, opus_frames(sentence, lead_s=0.5, tail_s=1.0), speedup=1)
        pushed_at = time.monotonic()
        await eventually(lambda: any(f.start_s > after for f in finals(events)), 10)
        assert time.monotonic() - pushed_at < 3.0
        final = next(f for f in finals(events) if f.start_s > after)
        assert similar(final.text, "please mute my microphone") >= 75
        # Whisper's word times run ~0.25 s early; the speech starts 0.5 s after `after`.
        assert after + 0.1 <= final.start_s <= after + 0.9
        assert pump.dropped_s == pytest.approx(dropped.total_s, abs=0.001)  # none at real time
    finally:
        await pump.close()
    assert all(task.done() for task in pump.tasks())


@pytest.mark.asyncio
async def test_vosk_falling_behind_drops_and_reports_every_second(speech_dir: Path) -> None:
    engine = load_engine("vosk", "ko", models_dir=None)
    speech = espeak("안녕하세요 오늘 기분이 어떠세요", speech_dir / "ko.wav", voice="ko")
    frames = opus_frames(speech, lead_s=0.2, tail_s=0.2) * 3
    events: list[PeerEvent] = []
    pump = AudioPump(engine.stream, emit=events.append, max_backlog_s=0.96, name="pump-vosk")
    pump.start()
    try:
        await push_paced(pump, frames, speedup=25)  # Vosk decodes at ~4x real time here
        assert pump.dropped_s > 1.0
        assert pump.peak_backlog_chunks <= pump.max_backlog_chunks == 6
        await pump.stop(timeout_s=30)
    finally:
        await pump.close()
        await engine.close()
    reported = [e for e in events if isinstance(e, AudioDropped)]
    assert sum(e.seconds for e in reported) == pytest.approx(pump.dropped_s, abs=0.01)
    assert reported[-1].total_s == pytest.approx(pump.dropped_s, abs=0.01)
    heard = [e.event for e in events if isinstance(e, Recognized)]
    assert heard and all(isinstance(e, Partial | Final) for e in heard)
    times = [f.start_s for f in finals(events)]
    assert times == sorted(times) and all(0 <= t <= pump.received_s for t in times)


@pytest.mark.asyncio
async def test_phrase_list_switch_keeps_the_participant_clock(
    whisper: SpeechEngine, speech_dir: Path
) -> None:
    events: list[PeerEvent] = []
    pump = AudioPump(whisper.stream, emit=events.append, name="pump-switch")
    pump.start()
    try:
        dictation = opus_frames(espeak("good morning doctor", speech_dir / "dictation.wav"))
        await push_paced(pump, dictation, speedup=4)
        await eventually(lambda: len(finals(events)) == 1, 10)
        assert similar(finals(events)[0].text, "good morning doctor") >= 70

        pump.set_phrases(["mute", "unmute", "help"])
        assert pump.phrases == ["mute", "unmute", "help"]
        command_at = pump.received_s
        await push_paced(pump, opus_frames(espeak("mute", speech_dir / "m.wav")), speedup=4)
        await eventually(lambda: len(finals(events)) == 2, 10)
    finally:
        await pump.close()
    first, second = finals(events)
    assert second.text == "mute"
    # The new recognizer counts from zero; the event is still on the participant's clock.
    assert command_at + 0.1 <= second.start_s < second.end_s <= pump.received_s
    assert all(command_at + 0.1 <= w.start_s for w in second.words)
    assert first.end_s < command_at


class StallingTrack(MediaStreamTrack):
    """An audio track that delivers some frames, then goes quiet without ending (a browser
    that replaced its microphone track with nothing, a network that went away)."""

    kind = "audio"

    def __init__(self, frames: list[AudioFrame]) -> None:
        super().__init__()
        self._frames = list(frames)
        self._quiet = asyncio.Event()

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if not self._frames:
            await self._quiet.wait()  # set by stop(): the pump must not need it
            raise MediaStreamError
        await asyncio.sleep(0.005)
        return self._frames.pop(0)

    def stop(self) -> None:
        self._quiet.set()
        super().stop()


@pytest.mark.asyncio
async def test_a_stalled_track_still_ends_the_utterance(
    whisper: SpeechEngine, speech_dir: Path
) -> None:
    # No trailing silence at all: only the pump's stall filler can end this utterance.
    frames = opus_frames(espeak("good morning doctor", speech_dir / "gm.wav"), tail_s=0)
    track = StallingTrack(frames)
    events: list[PeerEvent] = []
    pump = AudioPump(whisper.stream, emit=events.append, stall_s=0.3, name="pump-stall")
    pump.start()
    pump.attach(track)
    try:
        await eventually(lambda: bool(finals(events)), 15)
        assert similar(finals(events)[0].text, "good morning doctor") >= 70
        assert any(t.get_name() == "pump-stall-audio-in" and not t.done() for t in pump.tasks())
    finally:
        await pump.close()
        track.stop()
    assert all(task.done() for task in pump.tasks())


@pytest.mark.asyncio
async def test_any_frame_layout_is_converted_and_bad_frames_refused(
    whisper: SpeechEngine,
) -> None:
    pump = AudioPump(whisper.stream, emit=lambda _event: None, name="pump-formats")
    pump.start()
    try:
        rng = np.random.default_rng(7)
        planar = rng.uniform(-0.1, 0.1, (2, 1024)).astype(np.float32)  # 44.1 kHz fltp
        for _ in range(43):  # ~1 s
            frame = AudioFrame.from_ndarray(planar, format="fltp", layout="stereo")
            frame.sample_rate = 44_100
            pump.push_frame(frame)
        mono = np.zeros((1, 320), np.int16)  # 16 kHz mono s16, 20 ms
        for _ in range(50):
            frame = AudioFrame.from_ndarray(mono, format="s16", layout="mono")
            frame.sample_rate = 16_000
            pump.push_frame(frame)
        bad = AudioFrame.from_ndarray(np.zeros((1, 10), np.int16), format="s16", layout="mono")
        bad.sample_rate = 1_000
        with pytest.raises(AudioFormatError, match="sample rate"):
            pump.push_frame(bad)  # the reader task logs and skips such frames
        pump.end_of_audio()
        assert pump.received_s == pytest.approx(43 * 1024 / 44_100 + 1.0, abs=0.02)
        assert pump.dropped_s == 0
    finally:
        await pump.close()


@pytest.mark.asyncio
async def test_a_failing_recognizer_closes_the_peer_and_is_logged(
    speech_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A real failure: the engine is shut down under a running stream (app shutdown order).
    engine = load_engine("vosk", "ko", models_dir=None)
    events: asyncio.Queue[PeerEvent] = asyncio.Queue(maxsize=50)
    peer = AssistantPeer(engine, on_event=events, name="peer-failing")
    peer.start()
    frames = opus_frames(espeak("안녕하세요", speech_dir / "fail.wav", voice="ko"))
    await engine.close()
    for frame in frames[:20]:
        peer.pump.push_frame(frame)
    assert await peer.wait_closed(10)
    assert [e for e in drain(events) if isinstance(e, PeerClosed)] == [
        PeerClosed("recognition failed")
    ]
    assert all(task.done() for task in peer.tasks())
    failures = [r for r in caplog.records if "peer-failing-recognition" in r.getMessage()]
    assert failures and failures[0].levelname == "ERROR" and failures[0].exc_info


def drain(queue: asyncio.Queue[PeerEvent]) -> list[PeerEvent]:
    return [queue.get_nowait() for _ in range(queue.qsize())]
