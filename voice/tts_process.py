"""The server's handle on one `voice/tts_worker.py` process: start, ask, kill.

Kept apart from `voice.tts` so the policy (validation, cache, queue, restarts) reads without
the pipe plumbing. Every exchange has a timeout; the caller decides what a failure means.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice.errors import SynthesisError

logger = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).with_name("tts_worker.py")
# The ready line lists every espeak-ng voice (about 10 KB); leave room for more.
_LINE_LIMIT = 1 << 20
_EXIT_GRACE_S = 2.0


class WorkerHung(SynthesisError):
    """The worker did not answer in time (it has been killed)."""


class WorkerCrashed(SynthesisError):
    """The worker exited, closed its pipes, or answered garbage."""


class WorkerRefused(SynthesisError):
    """The worker is alive and answered, but reported that the request failed."""


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """One installed synthesis voice.

    `id` is what `SpeechSynthesizer.synthesize(voice=...)` takes (e.g. "gmw/en-us", "ko");
    `languages` are espeak-ng language tags such as "en-us".
    """

    id: str
    name: str
    languages: tuple[str, ...]
    gender: str | None


def _parse_voices(raw: Any) -> list[VoiceInfo]:
    if not isinstance(raw, list):
        raise WorkerCrashed("speech engine sent a malformed voice list")
    voices = []
    for item in raw:
        if not isinstance(item, dict) or "id" not in item or "name" not in item:
            raise WorkerCrashed("speech engine sent a malformed voice list")
        gender = item.get("gender")
        voices.append(
            VoiceInfo(
                id=str(item["id"]),
                name=str(item["name"]),
                languages=tuple(str(lang) for lang in item.get("languages", [])),
                gender=gender if isinstance(gender, str) else None,
            )
        )
    return voices


class TtsWorkerProcess:
    """One running worker; use `spawn`, then `synthesize` one request at a time."""

    def __init__(
        self, process: asyncio.subprocess.Process, voices: list[VoiceInfo], default_voice: str
    ) -> None:
        self._process = process
        self.voices = voices
        self.default_voice = default_voice

    @property
    def pid(self) -> int:
        """The operating-system process id (for monitoring, and for tests that kill it)."""
        return self._process.pid

    @classmethod
    async def spawn(cls, *, startup_timeout_s: float) -> TtsWorkerProcess:
        """Start a worker and wait for its ready line; kill it if that does not come in time."""
        # -P: do not put voice/ first on sys.path, where our module names could shadow others.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",
            str(WORKER_SCRIPT),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_LINE_LIMIT,
        )
        try:
            async with asyncio.timeout(startup_timeout_s):
                ready = await _read_message(process)
            if ready.get("type") != "ready":
                raise WorkerCrashed("speech engine sent an unexpected first message")
            voices = _parse_voices(ready.get("voices"))
        except TimeoutError:
            await _kill(process)
            raise WorkerHung(
                f"speech engine did not start within {startup_timeout_s:g} s"
            ) from None
        except BaseException:  # including cancellation: never leave a stray process behind
            await _kill(process)
            raise
        worker = cls(process, voices, str(ready.get("default_voice")))
        logger.info("speech synthesis worker started (pid %d)", worker.pid)
        return worker

    async def synthesize(self, request: dict[str, Any], *, timeout_s: float) -> None:
        """Send one request and wait for its answer; the WAV is then at `request["path"]`."""
        stdin = self._process.stdin
        if stdin is None or stdin.is_closing():
            raise WorkerCrashed("speech engine pipe is closed")
        line = json.dumps(request, ensure_ascii=True).encode("ascii") + b"\n"
        try:
            async with asyncio.timeout(timeout_s):
                stdin.write(line)
                await stdin.drain()
                reply = await _read_message(self._process)
        except TimeoutError:
            raise WorkerHung(f"speech engine did not answer within {timeout_s:g} s") from None
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise WorkerCrashed("speech engine pipe is closed") from exc
        if reply.get("id") != request["id"]:
            raise WorkerCrashed("speech engine answered out of turn")
        if reply.get("ok") is not True:
            raise WorkerRefused(f"speech engine failed: {reply.get('error', 'unknown error')}")

    async def kill(self) -> None:
        """Kill the worker at once (it may be hung or stopped) and reap it."""
        await _kill(self._process)

    async def close(self) -> None:
        """Let the worker exit at the end of its input; kill it if it does not."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            async with asyncio.timeout(_EXIT_GRACE_S):
                await self._process.wait()
        except TimeoutError:
            await _kill(self._process)


async def _read_message(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None  # created with stdout=PIPE
    try:
        line = await process.stdout.readline()
    except (ValueError, asyncio.LimitOverrunError) as exc:
        raise WorkerCrashed("speech engine sent an over-long line") from exc
    if not line.endswith(b"\n"):
        raise WorkerCrashed("speech engine exited")
    try:
        message = json.loads(line)
    except ValueError as exc:
        raise WorkerCrashed("speech engine sent a malformed message") from exc
    if not isinstance(message, dict):
        raise WorkerCrashed("speech engine sent a malformed message")
    return message


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    try:
        async with asyncio.timeout(_EXIT_GRACE_S):
            await process.wait()
    except TimeoutError:  # SIGKILL cannot be ignored; only a kernel stall gets here
        logger.error("speech synthesis worker (pid %d) did not exit after SIGKILL", process.pid)
