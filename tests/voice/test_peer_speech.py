"""The assistant peer's outgoing speech track with the real pyttsx3/espeak-ng synthesizer:
frame format and timing, silence when idle, prompt order, interruption."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest
import pytest_asyncio
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

from voice.peer import AssistantPeer
from voice.peer_events import AssistantPeerError, PeerEvent, SpeechFinished, SpeechStarted
from voice.peer_speech import FRAME_SAMPLES, WEBRTC_RATE, SpeechTrack, to_webrtc_audio
from voice.tts import SpeechSynthesizer, SynthesisRequestError

pytestmark = pytest.mark.slow

LONG = "Please describe your symptoms and tell me when they started."
SHORT = "Thank you."


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def synthesizer() -> AsyncIterator[SpeechSynthesizer]:
    async with SpeechSynthesizer(default_voice="en-us") as synthesizer:
        yield synthesizer


async def speech(synthesizer: SpeechSynthesizer, text: str) -> np.ndarray:
    spoken = await synthesizer.synthesize(text)
    return await asyncio.to_thread(to_webrtc_audio, spoken.pcm, spoken.sample_rate)


def speaking(source: SpeechTrack | AssistantPeer) -> bool:
    """`is_speaking`, read through a call so the type checker does not pin it after an assert."""
    return source.is_speaking


def rms(frame: AudioFrame) -> float:
    samples = frame.to_ndarray().astype(np.float64) / 32768.0
    return float(np.sqrt(np.mean(samples**2)))


async def frames(track: SpeechTrack, count: int) -> list[AudioFrame]:
    return [await track.recv() for _ in range(count)]


@pytest.mark.asyncio(loop_scope="module")
async def test_idle_track_sends_paced_silent_20ms_frames() -> None:
    track = SpeechTrack()
    started = time.monotonic()
    received = await frames(track, 26)
    elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 1.0  # 25 frame intervals of 20 ms, in real time
    for index, frame in enumerate(received):
        assert frame.samples == FRAME_SAMPLES and frame.sample_rate == WEBRTC_RATE
        assert frame.format.name == "s16" and frame.layout.name == "mono"
        assert frame.time_base == fractions.Fraction(1, 48_000)
        assert frame.pts == index * FRAME_SAMPLES
        assert rms(frame) == 0.0
    assert not speaking(track)
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()


@pytest.mark.asyncio(loop_scope="module")
async def test_a_prompt_plays_whole_between_started_and_finished_events(
    synthesizer: SpeechSynthesizer,
) -> None:
    events: list[PeerEvent] = []
    track = SpeechTrack(on_event=events.append)
    samples = await speech(synthesizer, SHORT)
    prompt = track.reserve(SHORT, interrupt=True)
    assert speaking(track) and events == []
    duration = track.fill(prompt, samples)
    assert duration == pytest.approx(samples.size / 48_000)
    count = -(-samples.size // FRAME_SAMPLES)
    played = await frames(track, count)
    assert events == [SpeechStarted(SHORT), SpeechFinished(SHORT, interrupted=False)]
    assert not speaking(track) and await track.wait_idle(0.1)
    sent = np.concatenate([f.to_ndarray()[0] for f in played])
    assert np.array_equal(sent[: samples.size], samples)  # bit-exact, padded with silence
    assert not sent[samples.size :].any()
    assert rms((await frames(track, 1))[0]) == 0.0  # back to silence
    track.stop()


@pytest.mark.asyncio(loop_scope="module")
async def test_prompts_keep_their_order_and_an_interrupt_cuts_them(
    synthesizer: SpeechSynthesizer,
) -> None:
    events: list[PeerEvent] = []
    track = SpeechTrack(on_event=events.append, max_prompts=2)
    first = track.reserve(LONG, interrupt=True)
    second = track.reserve(SHORT, interrupt=False)
    with pytest.raises(AssistantPeerError, match="already queued"):
        track.reserve("one too many", interrupt=False)
    track.fill(second, await speech(synthesizer, SHORT))
    # The first prompt is still being synthesized: the second must wait for it.
    assert all(rms(f) == 0.0 for f in await frames(track, 3))
    track.fill(first, await speech(synthesizer, LONG))
    played = await frames(track, 10)
    assert events == [SpeechStarted(LONG)] and max(rms(f) for f in played) > 0.02

    track.reserve("Stop.", interrupt=True)  # cuts LONG at once, drops SHORT unheard
    assert events[1:] == [SpeechFinished(LONG, interrupted=True)]
    assert all(rms(f) == 0.0 for f in await frames(track, 2))  # "Stop." still synthesizing
    assert speaking(track)
    track.stop_speaking()
    assert not speaking(track) and events[2:] == []  # "Stop." never started: no events
    track.stop()


@pytest.mark.asyncio(loop_scope="module")
async def test_say_on_the_peer_interrupts_and_reports_what_was_queued(
    synthesizer: SpeechSynthesizer,
) -> None:
    peer = AssistantPeer(
        lambda _phrases: pytest.fail("no recognizer is needed to speak"),
        synthesizer=synthesizer,
        name="peer-say",
    )
    try:
        slow = asyncio.create_task(peer.say("This prompt will be cut before it plays."))
        await asyncio.sleep(0)  # it has reserved its place and is synthesizing
        assert speaking(peer)
        seconds = await peer.say(SHORT)  # interrupt=True by default
        assert await slow == 0.0
        assert 0.3 < seconds < 2.0
        queued = await peer.say(LONG, interrupt=False, rate_wpm=300)
        assert 1.0 < queued < 4.0
        peer.stop_speaking()
        assert not speaking(peer)
        with pytest.raises(SynthesisRequestError, match="empty"):
            await peer.say("   ")
        assert not speaking(peer)  # a failed synthesis leaves nothing queued
    finally:
        await peer.close()
    with pytest.raises(AssistantPeerError, match="closed"):
        await peer.say(SHORT)
    no_voice = AssistantPeer(lambda _phrases: pytest.fail("unused"), name="peer-mute")
    with pytest.raises(AssistantPeerError, match="synthesizer"):
        await no_voice.say(SHORT)
