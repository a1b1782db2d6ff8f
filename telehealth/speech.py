"""Speech as the app sees it: which engines are installed, which one is active, loaded once.

The default engine loads in a worker thread after start-up (a large Vosk model takes
seconds); `/readyz` says not ready until it has.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from typing import Any

from telehealth.settings import Settings
from voice.engines import EngineChoice, EngineRegistry, list_installed_models, select_model
from voice.errors import VoiceError
from voice.recognition import EngineInfo, SpeechEngine
from voice.tts import SpeechSynthesizer

log = logging.getLogger("telehealth.speech")


def _registry_args(settings: Settings) -> dict[str, Any]:
    return {
        "models_dir": settings.models_dir,
        "vosk_model": settings.vosk_model,
        "whisper_model": settings.whisper_model,
    }


def describe_models(settings: Settings) -> dict[str, Any]:
    """What `telehealth models list` prints: installed models and the active choice."""
    report: dict[str, Any] = {
        "setting": settings.speech_engine,
        "language": settings.speech_language,
        "active": None,
        "problem": None,
        "installed": [],
    }
    try:
        installed = list_installed_models(**_registry_args(settings))
    except VoiceError as error:
        report["problem"] = str(error)
        return report
    report["installed"] = [asdict(info) for info in installed]
    if settings.speech_engine == "off":
        report["problem"] = "speech is off (TELEHEALTH_SPEECH_ENGINE=off)"
        return report
    try:
        chosen = select_model(settings.speech_engine, settings.speech_language, installed)
    except VoiceError as error:
        report["problem"] = str(error)
    else:
        report["active"] = asdict(chosen)
    return report


class SpeechService:
    """The process's speech engines and synthesizer, opened and closed by the lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        engine = settings.speech_engine
        self.enabled = engine != "off"
        self.choice: EngineChoice = "auto" if engine == "off" else engine
        self.registry = EngineRegistry(**_registry_args(settings))
        self.synthesizer = SpeechSynthesizer(
            default_voice=settings.tts_voice, default_rate_wpm=settings.tts_rate_wpm
        )
        self._default: asyncio.Task[SpeechEngine] | None = None

    async def start(self) -> None:
        if not self.enabled:
            return
        await self.synthesizer.start()
        self._default = asyncio.create_task(
            asyncio.to_thread(self.registry.get, self.choice, self.settings.speech_language),
            name="load-default-speech-engine",
        )
        self._default.add_done_callback(_log_load_result)

    async def engine(self, language: str | None = None) -> SpeechEngine:
        """The engine for a language (the default one unless asked), loading it if needed."""
        if not self.enabled:
            raise VoiceError("speech is off on this server")
        return await asyncio.to_thread(
            self.registry.get, self.choice, language or self.settings.speech_language
        )

    def status(self) -> dict[str, Any]:
        """For /readyz: whether the default engine is loaded, and which it is."""
        if not self.enabled:
            return {"ok": True, "engine": "off", "loaded": []}
        loaded: list[EngineInfo] = self.registry.loaded()
        body: dict[str, Any] = {
            "ok": False,
            "engine": self.settings.speech_engine,
            "language": self.settings.speech_language,
            "loaded": [asdict(info) for info in loaded],
        }
        if self._default is None or not self._default.done():
            body["problem"] = "loading"
        elif self._default.cancelled() or self._default.exception() is not None:
            body["problem"] = str(self._default.exception() or "cancelled")
        else:
            body["ok"] = True
            body["active"] = asdict(self._default.result().info)
        return body

    async def close(self) -> None:
        if self._default is not None and not self._default.done():
            # A model load in a thread cannot be interrupted; wait for it so it is freed.
            await asyncio.wait({self._default}, timeout=60)
        await self.registry.close()
        if self.enabled:
            await self.synthesizer.stop()


def _log_load_result(task: asyncio.Task[SpeechEngine]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("loading the speech engine failed", extra={"reason": str(error)})
    else:
        info = task.result().info
        log.info(
            "speech engine loaded",
            extra={"engine": info.engine, "model": info.model, "language": info.language},
        )
