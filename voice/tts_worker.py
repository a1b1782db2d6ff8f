"""The pyttsx3 process behind `voice.tts.SpeechSynthesizer`.

Run as a script (`python -P voice/tts_worker.py`), never imported by the server: pyttsx3 is
not thread-safe and its run loop can hang, so it lives alone in a process the server can kill
and replace. It imports only the standard library and pyttsx3, so it runs without `voice`
being importable.

Protocol, one JSON object per line: the worker first writes
`{"type": "ready", "voices": [...], "default_voice": ID}` on stdout; then for each request
`{"id", "text", "voice", "rate", "volume", "path"}` read from stdin it writes a WAV file to
`path` and answers `{"id", "ok": true}` or `{"id", "ok": false, "error": "..."}`. It exits at
the end of stdin.

Why this file is more careful than "save_to_file, runAndWait": pyttsx3 2.99's espeak driver
runs espeak-ng asynchronously and handles its callbacks on espeak-ng's own thread, while its
command queue and busy/stop flags are shared with the caller without locks. Used naively
(measured here), runAndWait returns before long texts are finished, about one request in
ten comes out with the previous request's voice, rate or volume, and a stale "stop" cuts the
next utterance short. `_Engine` keeps the driver in one known state between requests.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from typing import Any, BinaryIO

# The server's timeout (seconds) normally ends a stuck request long before these.
_UTTERANCE_LIMIT_S = 300.0
_SETTLE_LIMIT_S = 5.0


def _private_stdout() -> BinaryIO:
    """Keep fd 1 for the protocol alone.

    pyttsx3's espeak driver print()s a line for every file it saves (and the C library may
    write to fd 1 too); those bytes must not end up in the protocol stream.
    """
    protocol = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    return protocol


def _send(out: BinaryIO, message: dict[str, Any]) -> None:
    out.write(json.dumps(message, ensure_ascii=True).encode("ascii") + b"\n")


class _EngineError(Exception):
    """A request failed; the message goes back to the server (never contains the text)."""


class _Engine:
    """pyttsx3's espeak engine, driven so that one utterance is over before the next starts."""

    def __init__(self) -> None:
        import pyttsx3  # after the stdout redirect: loading may write to fd 1
        from pyttsx3.drivers import _espeak  # the libespeak-ng binding pyttsx3 itself uses

        self._engine: Any = pyttsx3.init("espeak")
        self._synchronize = _espeak.Synchronize
        self._errors: list[str] = []
        self._started = threading.Event()
        self._finished = threading.Event()
        self._completed = False
        self._engine.connect("error", self._on_error)
        self._engine.connect("started-utterance", self._on_started)
        self._engine.connect("finished-utterance", self._on_finished)
        self.default_voice = str(self._engine.getProperty("voice"))
        self._warm_up()

    def voices(self) -> list[dict[str, Any]]:
        return [
            {
                "id": str(voice.id),
                "name": str(voice.name),
                "languages": [str(lang) for lang in (voice.languages or [])],
                "gender": voice.gender if isinstance(voice.gender, str) else None,
            }
            for voice in self._engine.getProperty("voices")
        ]

    def synthesize(self, text: str, voice: str, rate: int, volume: float, path: str) -> None:
        """Write `text` spoken with these settings to the WAV file `path`."""
        self._apply(voice, rate, volume)
        # A stale stop flag inside pyttsx3 cancels the utterance after it; the cancel also
        # clears the flag, so one more try is enough.
        for _attempt in range(2):
            self._utter(text, path)
            if self._completed:
                break
        else:
            raise _EngineError("the utterance was cut short")
        if not os.path.exists(path):
            raise _EngineError("the engine wrote no file")

    def _warm_up(self) -> None:
        # Until its first run loop pyttsx3 queues every command instead of running it; one
        # throwaway utterance leaves the driver idle, so later settings apply at once.
        self._synchronize()
        handle, path = tempfile.mkstemp(suffix=".wav")
        os.close(handle)
        try:
            self._utter("ready", path)
        finally:
            os.unlink(path)

    def _apply(self, voice: str, rate: int, volume: float) -> None:
        self._errors.clear()
        self._engine.setProperty("voice", voice)
        self._engine.setProperty("rate", rate)
        self._engine.setProperty("volume", volume)
        # espeak-ng queues parameter changes; let them land so that (a) they are in force
        # and (b) espeak-ng is not "playing" when runAndWait's stop() looks at it.
        self._synchronize()
        if self._errors:
            raise _EngineError(self._errors[0])
        if (
            self._engine.getProperty("voice") != voice
            or self._engine.getProperty("rate") != rate
            or round(self._engine.getProperty("volume") * 100) != round(volume * 100)
        ):
            raise _EngineError("the engine did not take the voice settings")

    def _utter(self, text: str, path: str) -> None:
        self._errors.clear()
        self._started.clear()
        self._finished.clear()
        self._completed = False
        self._engine.save_to_file(text, path)
        self._engine.runAndWait()
        # runAndWait can return while espeak-ng is still delivering audio on its thread.
        if self._started.is_set() and not self._finished.wait(_UTTERANCE_LIMIT_S):
            raise _EngineError("the engine did not finish")
        self._settle()
        if self._errors:
            raise _EngineError(self._errors[0])

    def _settle(self) -> None:
        """Wait until espeak-ng's queue is empty and pyttsx3's callback has let go."""
        self._synchronize()
        deadline = time.monotonic() + _SETTLE_LIMIT_S
        while self._engine.isBusy():
            if time.monotonic() > deadline:
                raise _EngineError("the engine stayed busy")
            time.sleep(0.001)

    def _on_error(self, name: object = None, exception: BaseException | None = None) -> None:
        del name
        self._errors.append(type(exception).__name__ + ": " + str(exception))

    def _on_started(self, name: object = None) -> None:
        del name
        self._started.set()

    def _on_finished(self, name: object = None, completed: object = None) -> None:
        del name
        self._completed = completed is True
        self._finished.set()


def main() -> int:
    protocol = _private_stdout()
    engine = _Engine()
    ready = {"type": "ready", "voices": engine.voices(), "default_voice": engine.default_voice}
    _send(protocol, ready)
    for line in sys.stdin.buffer:
        request = json.loads(line)
        reply: dict[str, Any] = {"id": request.get("id"), "ok": True}
        try:
            engine.synthesize(
                str(request["text"]),
                str(request["voice"]),
                int(request["rate"]),
                float(request["volume"]),
                str(request["path"]),
            )
        except _EngineError as exc:
            reply.update(ok=False, error=str(exc))
        except Exception as exc:  # report and keep serving; the server decides what to do
            reply.update(ok=False, error=type(exc).__name__)
        _send(protocol, reply)
    return 0


if __name__ == "__main__":
    sys.exit(main())
