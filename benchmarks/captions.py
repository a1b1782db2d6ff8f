"""Live-caption latency: end of speech -> final caption on the other participant's socket.

    python benchmarks/captions.py --calls N [--engine whisper|vosk] [--utterances K]

One server process (`telehealth serve`, SQLite, in-process pub/sub) with the chosen engine:
Whisper tiny.en with English espeak-ng speech, or the Korean Vosk model with `espeak-ng -v
ko` speech. N calls of two participants (clinician and patient, both admitted, transcript
consent granted, so every final is also stored). Each participant is an aiortc client
sending its microphone to `POST /api/assistant/{visit}/offer` in real time: 20 ms frames of
48 kHz audio, K utterances each, the two sides taking turns (a speaker is silent >= `--gap`
seconds between its own utterances).

Measured on the client (one monotonic clock): end of speech = when the frame holding an
utterance's last speech sample is handed to aiortc; a final caption of that speaker on the
OTHER participant's websocket is matched to its utterances in order (a final arriving before
an utterance ended cannot belong to it); latency = receive time - end of speech; `lost` =
utterances with no final within 10 s. The speaker's own data channel gets the assistant's
`final` event too: that splits the latency into recognition (`recognized_*`) and caption
publish + websocket delivery (`delivery_*`). Loopback only; stops within `--max-s`.
The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil  # type: ignore[import-untyped]
import soxr
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame
from rapidfuzz import fuzz
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RATE = 48_000
FRAME = 960  # 20 ms
TIME_BASE = fractions.Fraction(1, RATE)
LOST_AFTER_S = 10.0
TURN_GAP_S = 0.6  # between one side's end of speech and the other side's onset
CALL_OFFSET_S = 1.1  # calls start this far apart, so their turns overlap unevenly
WARMUP_SETTLE_S = 4.0  # after the warm-up turns, time for a recognizer to catch up
PASSWORD = "benchmark passphrase"

SENTENCES = {
    ("en", "clinician"): [
        "How long have you had the cough?",
        "Do you have any fever or chills?",
        "Please take a deep breath for me.",
        "Are you taking any medication right now?",
        "I will send a prescription to your pharmacy.",
        "Let us check your blood pressure next week.",
    ],
    ("en", "patient"): [
        "I have had a sore throat since Monday.",
        "My head hurts when I stand up.",
        "The pain is worse at night.",
        "I took two tablets of ibuprofen this morning.",
        "I feel tired and a bit dizzy.",
        "Yes, I am allergic to penicillin.",
    ],
    ("ko", "clinician"): [
        "언제부터 기침을 하셨어요",
        "열이 있으세요",
        "숨을 크게 쉬어 보세요",
        "지금 드시는 약이 있나요",
        "약을 처방해 드릴게요",
        "다음 주에 다시 오세요",
    ],
    ("ko", "patient"): [
        "어제부터 목이 아파요",
        "머리가 아프고 열이 나요",
        "밤에 더 아파요",
        "아침에 약을 먹었어요",
        "조금 어지러워요",
        "네 알겠습니다 감사합니다",
    ],
}


@dataclass
class Utterance:
    text: str
    onset: int  # first and one-past-last speech sample in the speaker's script
    end: int
    measured: bool = True  # False: a warm-up utterance, matched but not counted
    onset_at: float | None = None  # monotonic time the frames holding them were handed out
    end_at: float | None = None


@dataclass
class Speaker:
    role: str
    pcm: np.ndarray  # int16 mono at 48 kHz: the whole script, silence included
    utterances: list[Utterance]
    peer_id: str = ""
    captions: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # other side's
    channel_finals: list[tuple[float, str]] = field(default_factory=list)  # own data channel
    dropped_s: float = 0.0
    script_pts: int = 0  # the stream's pts (48 kHz samples) where the script began
    all_heard: asyncio.Event = field(default_factory=asyncio.Event)  # every utterance matched


def synthesize(text: str, language: str, path: Path) -> np.ndarray:
    """espeak-ng speech trimmed to its first and last loud sample, as 48 kHz int16."""
    voice = "ko" if language == "ko" else "en-us"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "160", "-w", str(path), text], check=True, timeout=30
    )
    with wave.open(str(path)) as wav:
        rate = wav.getframerate()
        raw = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float32) / 32768
    samples = soxr.resample(raw, rate, RATE)
    loud = np.flatnonzero(np.abs(samples) > 0.02 * np.abs(samples).max())
    trimmed = samples[loud[0] : loud[-1] + 1]
    pcm: np.ndarray = (np.clip(trimmed, -1, 1) * 32767).astype(np.int16)
    return pcm


def build_call(
    language: str, count: int, gap_s: float, warmup: bool, workdir: Path
) -> list[Speaker]:
    """Two speakers taking turns (clinician first); both scripts share one timeline. With
    `warmup`, each first says one unmeasured sentence, then both wait `WARMUP_SETTLE_S`."""
    roles = ("clinician", "patient")
    turns: dict[str, list[tuple[str, bool]]] = {}
    for role in roles:
        sentences = SENTENCES[language, role]
        spoken = [(sentences[i % (len(sentences) - 1)], True) for i in range(count)]
        turns[role] = [(sentences[-1], False)] * warmup + spoken
    speech = {
        text: synthesize(text, language, workdir / f"{role}{i}.wav")
        for role in roles
        for i, text in enumerate(SENTENCES[language, role])
        if any(text == said for said, _ in turns[role])
    }
    placed: dict[str, list[tuple[int, str, bool]]] = {role: [] for role in roles}
    clock, last_end = 1.0, dict.fromkeys(roles, -gap_s)
    for turn in range(count + warmup):
        for role in roles:
            text, measured = turns[role][turn]
            start = max(clock, last_end[role] + gap_s)
            placed[role].append((round(start * RATE), text, measured))
            clock = last_end[role] = start + speech[text].size / RATE
            clock += TURN_GAP_S
        if warmup and turn == 0:
            clock += WARMUP_SETTLE_S
    total = round((clock + 1.0) * RATE)
    speakers = []
    for role in roles:
        pcm = np.zeros(total, np.int16)
        utterances = []
        for onset, text, measured in placed[role]:
            samples = speech[text]
            pcm[onset : onset + samples.size] = samples
            utterances.append(Utterance(text, onset, onset + samples.size, measured))
        speakers.append(Speaker(role, pcm, utterances))
    return speakers


class ScriptedMicrophone(MediaStreamTrack):
    """A real-time microphone: silence until `start_at`, then the speaker's script, then
    silence until stopped. Records when the frames holding each utterance's first and last
    speech samples are handed out."""

    kind = "audio"

    def __init__(self, speaker: Speaker, start_at: float) -> None:
        super().__init__()
        self.speaker = speaker
        self.start_at = start_at
        self._clock: float | None = None
        self._pts = 0
        self._position: int | None = None  # script sample at the next frame; None: not begun
        self.played = asyncio.Event()

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._clock is None:
            self._clock = time.monotonic()
        else:
            self._pts += FRAME
            delay = self._clock + self._pts / RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        now = time.monotonic()
        if self._position is None and now >= self.start_at:
            self._position = 0
            self.speaker.script_pts = self._pts
        samples = np.zeros(FRAME, np.int16)
        if self._position is not None:
            first, pcm = self._position, self.speaker.pcm
            piece = pcm[first : first + FRAME]
            samples[: piece.size] = piece
            self._position += FRAME
            for utterance in self.speaker.utterances:
                if first <= utterance.onset < first + FRAME:
                    utterance.onset_at = now
                if first <= utterance.end - 1 < first + FRAME:
                    utterance.end_at = now
            if self._position >= self.speaker.pcm.size:
                self.played.set()
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        return frame


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


async def prepare(data_dir: Path, calls: int, base_url: str) -> list[tuple[str, str, str]]:
    """One clinician, visit and patient session per call, straight in the database."""
    from telehealth.auth.patient_sessions import open_patient_session
    from telehealth.auth.sessions import StaffSessionLimits, open_staff_session
    from telehealth.clinicians import create_clinician
    from telehealth.settings import Settings
    from telehealth.storage import Database, upgrade_database
    from telehealth.visits.service import create_visit

    settings = Settings(_env_file=None, data_dir=data_dir, public_base_url=base_url)
    database = Database.for_settings(settings)
    await upgrade_database(database)
    result = []
    async with database.session() as session:
        for index in range(calls):
            email = f"bench{index}@clinic.example"
            clinician = await create_clinician(
                session, email=email, display_name=f"Dr {index}", password=PASSWORD
            )
            # Straight in the database: the benchmark measures calls, not sign-in.
            clinician_token = open_staff_session(
                session, clinician, StaffSessionLimits.same(hours=1)
            )
            visit, invite = await create_visit(
                session,
                clinician_id=clinician.id,
                scheduled_at=datetime.now(UTC),
                invite_ttl=timedelta(hours=1),
            )
            opened = await open_patient_session(
                session, invite_token=invite.token, display_name=f"P{index}", ttl=timedelta(hours=1)
            )
            patient_token = opened.token
            result.append((visit.id, clinician_token, patient_token))
    await database.close()
    return result


async def recv_type(ws: ClientConnection, kind: str, within_s: float = 30) -> dict[str, Any]:
    async with asyncio.timeout(within_s):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message  # type: ignore[no-any-return]


async def collect_captions(ws: ClientConnection, speaker: Speaker) -> None:
    """The other side's socket: keep the captions of `speaker` with their receive time."""
    async for raw in ws:
        now = time.monotonic()
        message = json.loads(raw)
        if message.get("type") == "caption" and message.get("speaker") == speaker.peer_id:
            speaker.captions.append((now, message))
            matched, _ = match_finals(speaker.utterances, finals_of(speaker))
            if len(matched) == len(speaker.utterances):
                speaker.all_heard.set()


async def connect_microphone(
    base: str, visit_id: str, cookie: tuple[str, str], speaker: Speaker, start_at: float
) -> tuple[RTCPeerConnection, ScriptedMicrophone]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    microphone = ScriptedMicrophone(speaker, start_at)
    pc.addTrack(microphone)
    channel = pc.createDataChannel("assistant")

    @channel.on("open")
    def on_open() -> None:  # the speaker's own finals and drops; pages ask for none
        channel.send(json.dumps({"type": "subscribe", "events": ["final", "audio_dropped"]}))

    @channel.on("message")
    def on_message(message: str | bytes) -> None:
        event = json.loads(message)
        if event.get("type") == "final":
            speaker.channel_finals.append((time.monotonic(), str(event["text"])))
        elif event.get("type") == "audio_dropped":
            speaker.dropped_s += float(event["seconds"])

    connected = asyncio.Event()

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState == "connected":
            connected.set()

    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(base_url=base, cookies=dict([cookie])) as client:
        response = await client.post(
            f"/api/assistant/{visit_id}/offer",
            json={"sdp": pc.localDescription.sdp, "type": "offer", "mode": "captions"},
            timeout=30,
        )
    response.raise_for_status()
    answer = response.json()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    async with asyncio.timeout(20):
        await connected.wait()
    return pc, microphone


async def run_call(
    base: str,
    visit_id: str,
    clinician: str,
    patient: str,
    speakers: list[Speaker],
    everyone_connected: asyncio.Barrier,
    offset_s: float,
) -> None:
    """Join both sides, connect both microphones, play the scripts, wait for the finals."""
    ws_url = f"{base.replace('http', 'ws')}/ws/visits/{visit_id}"
    cookies = {"clinician": ("th_clinician", clinician), "patient": ("th_patient", patient)}
    by_role = {s.role: s for s in speakers}
    async with httpx.AsyncClient(base_url=base, cookies={"th_patient": patient}) as client:
        answer = await client.put("/api/patient/consent", json={"transcript": True}, timeout=10)
        answer.raise_for_status()
    sockets: dict[str, ClientConnection] = {}
    for role in ("patient", "clinician"):  # the patient waits, then the clinician admits
        name, value = cookies[role]
        sockets[role] = ws = await connect(
            ws_url,
            additional_headers={"Cookie": f"{name}={value}"},
            origin=base,  # type: ignore[arg-type]
            open_timeout=30,
            max_queue=256,
        )
        await ws.send(json.dumps({"type": "hello", "version": 1}))
        by_role[role].peer_id = str((await recv_type(ws, "welcome"))["peer_id"])
    await sockets["clinician"].send(
        json.dumps({"type": "admit", "peer_id": by_role["patient"].peer_id})
    )
    await recv_type(sockets["patient"], "admitted")
    readers = [
        asyncio.create_task(collect_captions(sockets["patient"], by_role["clinician"])),
        asyncio.create_task(collect_captions(sockets["clinician"], by_role["patient"])),
    ]
    pcs: list[RTCPeerConnection] = []
    try:
        microphones = []
        for speaker in speakers:
            pc, microphone = await connect_microphone(
                base, visit_id, cookies[speaker.role], speaker, float("inf")
            )
            pcs.append(pc)
            microphones.append(microphone)
        await everyone_connected.wait()
        start_at = time.monotonic() + 1.0 + offset_s
        for microphone in microphones:
            microphone.start_at = start_at
        await asyncio.gather(*(m.played.wait() for m in microphones))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LOST_AFTER_S):
                await asyncio.gather(*(s.all_heard.wait() for s in speakers))
        await asyncio.sleep(0.3)  # a late extra final still counts as extra, not as nothing
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in sockets.values()), return_exceptions=True)


def finals_of(speaker: Speaker) -> list[tuple[float, str]]:
    return [(t, str(m["text"])) for t, m in speaker.captions if m.get("final")]


def match_finals(
    utterances: list[Utterance], finals: list[tuple[float, str]]
) -> tuple[dict[int, tuple[float, str]], int]:
    """Utterance index -> (latency s, text), in order; and the count of unmatched finals."""
    matched: dict[int, tuple[float, str]] = {}
    extra, index = 0, 0
    for received, text in sorted(finals):
        while index < len(utterances):
            end = utterances[index].end_at
            if end is not None and received - end > LOST_AFTER_S:
                index += 1  # that one is lost; this final may be the next one's
                continue
            break
        end = utterances[index].end_at if index < len(utterances) else None
        if end is None or received < end:
            extra += 1  # before the end of speech (a piece cut early by the VAD) or surplus
            continue
        matched[index] = (received - end, text)
        index += 1
    return matched, extra


def first_partials(speaker: Speaker) -> list[float]:
    """Per utterance: the first partial caption after its onset (and before its end + 1 s)."""
    partials = sorted(t for t, m in speaker.captions if not m.get("final"))
    latencies = []
    for utterance in speaker.utterances:
        if not utterance.measured or utterance.onset_at is None or utterance.end_at is None:
            continue
        window = [t for t in partials if utterance.onset_at <= t <= utterance.end_at + 1.0]
        if window:
            latencies.append(window[0] - utterance.onset_at)
    return latencies


def summarize(calls: list[list[Speaker]]) -> dict[str, Any]:
    final_ms, recognized_ms, delivery_ms, similarity = [], [], [], []
    captions = lost = extra = 0
    for speaker in (s for call in calls for s in call):
        finals = finals_of(speaker)
        captions += len(finals)
        matched, surplus = match_finals(speaker.utterances, finals)
        on_channel, _ = match_finals(speaker.utterances, speaker.channel_finals)
        extra += surplus
        measured = {i for i, u in enumerate(speaker.utterances) if u.measured}
        lost += len(measured - set(matched))
        for index, (latency, text) in matched.items():
            if index not in measured:
                continue
            final_ms.append(latency * 1000)
            similarity.append(fuzz.ratio(norm(text), norm(speaker.utterances[index].text)))
            if index in on_channel:
                recognized_ms.append(on_channel[index][0] * 1000)
                delivery_ms.append((latency - on_channel[index][0]) * 1000)
    partial_ms = [t * 1000 for call in calls for s in call for t in first_partials(s)]
    return {
        "captions": captions,
        "lost": lost,
        "extra_finals": extra,
        "final_p50_ms": percentile(final_ms, 50),
        "final_p95_ms": percentile(final_ms, 95),
        "final_max_ms": percentile(final_ms, 100),
        "recognized_p50_ms": percentile(recognized_ms, 50),
        "recognized_p95_ms": percentile(recognized_ms, 95),
        "delivery_p50_ms": percentile(delivery_ms, 50),
        "delivery_p95_ms": percentile(delivery_ms, 95),
        "first_partial_p50_ms": percentile(partial_ms, 50),
        "text_similarity": round(float(np.mean(similarity)), 1) if similarity else None,
        "audio_dropped_s": round(sum(s.dropped_s for call in calls for s in call), 2),
    }


def write_trace(path: Path, calls: list[list[Speaker]]) -> None:
    """Per utterance: monotonic times and stream positions, to line up with server probes."""
    with path.open("w", encoding="utf-8") as out:
        for number, call in enumerate(calls):
            for speaker in call:
                matched, _ = match_finals(speaker.utterances, finals_of(speaker))
                on_channel, _ = match_finals(speaker.utterances, speaker.channel_finals)
                for index, utterance in enumerate(speaker.utterances):
                    record = {
                        "call": number,
                        "role": speaker.role,
                        "index": index,
                        "text": utterance.text,
                        "measured": utterance.measured,
                        "onset_at": utterance.onset_at,
                        "end_at": utterance.end_at,
                        "end_pts": speaker.script_pts + utterance.end,
                        "final_ms": _ms(matched.get(index)),
                        "final_text": matched[index][1] if index in matched else None,
                        "recognized_ms": _ms(on_channel.get(index)),
                    }
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _ms(match: tuple[float, str] | None) -> float | None:
    return round(match[0] * 1000, 1) if match else None


def norm(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum() or c.isspace()).strip()


async def wait_ready(base: str, server: subprocess.Popen[bytes], within_s: float) -> str:
    async with httpx.AsyncClient(base_url=base) as client, asyncio.timeout(within_s):
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}")
            try:
                response = await client.get("/readyz", timeout=2)
                if response.status_code == 200:
                    return str(response.json()["speech"]["active"]["model"])
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    load_at_start = os.getloadavg()[0]
    language = "ko" if args.engine == "vosk" else "en"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        calls = [
            build_call(language, args.utterances, args.gap, args.warmup, workdir)
            for _ in range(args.calls)
        ]
        sessions = await prepare(workdir / "var", args.calls, base)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
        env.update(
            TELEHEALTH_DATA_DIR=str(workdir / "var"),
            TELEHEALTH_PORT=str(port),
            TELEHEALTH_SPEECH_ENGINE=args.engine,
            TELEHEALTH_SPEECH_LANGUAGE=language,
            TELEHEALTH_LOG_LEVEL="WARNING",
            TELEHEALTH_MODELS_DIR=str(workdir / "models"),  # empty: packaged models only
        )
        log_path = workdir / "server.log"
        with log_path.open("wb") as log:
            # A plain Popen: stopped below whatever happens.
            server = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, "-m", "telehealth", "serve"],
                env=env,
                cwd=tmp,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            model = await wait_ready(base, server, 180)
            process = psutil.Process(server.pid)
            cpu_before = server_cpu(process)
            everyone_connected = asyncio.Barrier(args.calls)
            await asyncio.gather(
                *(
                    run_call(base, visit, c, p, speakers, everyone_connected, i * CALL_OFFSET_S)
                    for i, ((visit, c, p), speakers) in enumerate(zip(sessions, calls, strict=True))
                )
            )
            cpu_s = server_cpu(process) - cpu_before
        except BaseException:
            sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
            raise
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    summary = summarize(calls)
    if args.trace:
        write_trace(args.trace, calls)
    return {
        "calls": args.calls,
        "speakers": 2 * args.calls,
        "utterances": sum(u.measured for call in calls for s in call for u in s.utterances),
        "warmup": args.warmup,
        **summary,
        "engine": args.engine,
        "model": model,
        "consent": True,
        "server_cpu_s": round(cpu_s, 1),
        "client_cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
        # The machine is shared: a busy one inflates every decode.
        "loadavg_1m": [round(load_at_start, 2), round(os.getloadavg()[0], 2)],
    }


def server_cpu(process: psutil.Process) -> float:
    own = process.cpu_times()
    total = own.user + own.system
    for child in process.children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return float(total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2, help="concurrent calls (2 speakers)")
    parser.add_argument("--engine", choices=["whisper", "vosk"], default="whisper")
    parser.add_argument("--utterances", type=int, default=4, help="utterances per speaker")
    parser.add_argument("--gap", type=float, default=2.0, help="min silence per speaker (s)")
    parser.add_argument("--max-s", type=float, default=300.0, help="give up after (s)")
    parser.add_argument(
        "--warmup", action="store_true", help="one unmeasured utterance per speaker first"
    )
    parser.add_argument("--trace", type=Path, help="write per-utterance timings (JSON lines)")
    args = parser.parse_args()
    if args.calls < 1 or args.utterances < 1:
        parser.error("--calls and --utterances must be >= 1")
    # The whole run is bounded; the server is stopped on the way out whatever happens.
    try:
        result = asyncio.run(asyncio.wait_for(main_async(args), args.max_s))
    except TimeoutError:
        parser.exit(1, f"gave up after {args.max_s:.0f} s\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
