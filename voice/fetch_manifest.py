"""The manifest an installed model carries, and checking a model against it.

`models/NAME/.telehealth-model.json` records where the model came from (archive URL and
SHA-256), its engine and language, and the size and SHA-256 of every file, so `verify_model`
can tell whether anything changed without keeping the archive.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from voice.fetch_archive import ModelFetchError

MANIFEST_NAME = ".telehealth-model.json"
MANIFEST_FORMAT = 1
_HASH_CHUNK = 1 << 20


class ManifestError(ModelFetchError):
    """A model directory has no manifest, or one that cannot be read."""


@dataclass(frozen=True, slots=True)
class FileDigest:
    """Size and SHA-256 (hex) of one file of a model."""

    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class ModelManifest:
    """What an installed model is and what its files should hash to."""

    name: str
    engine: str  # "vosk"
    language: str  # BCP-47 primary tag, e.g. "en"
    source: str  # the archive's URL, or its file name for an offline install
    archive_sha256: str
    archive_bytes: int
    installed_at: str  # ISO 8601, UTC
    files: Mapping[str, FileDigest]  # POSIX path relative to the model directory


@dataclass(frozen=True, slots=True)
class ModelVerification:
    """The outcome of `verify_model`: `ok` only if every file is present and unchanged."""

    name: str
    path: Path
    ok: bool
    files_checked: int
    mismatched: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    problem: str | None = None  # set when there is no usable manifest


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def digest_tree(root: Path) -> dict[str, FileDigest]:
    """Digest every regular file under `root` except the manifest, keyed by relative path."""
    return {
        relative: FileDigest(path.stat().st_size, sha256_file(path))
        for relative, path in _walk(root)
    }


def build_manifest(
    model_dir: Path,
    *,
    name: str,
    engine: str,
    language: str,
    source: str,
    archive_sha256: str,
    archive_bytes: int,
) -> ModelManifest:
    """A manifest for the files now in `model_dir` (hashes them all)."""
    return ModelManifest(
        name=name,
        engine=engine,
        language=language,
        source=source,
        archive_sha256=archive_sha256,
        archive_bytes=archive_bytes,
        installed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        files=digest_tree(model_dir),
    )


def write_manifest(model_dir: Path, manifest: ModelManifest) -> None:
    """Write `manifest` into `model_dir` (before the directory is moved into place)."""
    document: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "name": manifest.name,
        "engine": manifest.engine,
        "language": manifest.language,
        "source": manifest.source,
        "archive_sha256": manifest.archive_sha256,
        "archive_bytes": manifest.archive_bytes,
        "installed_at": manifest.installed_at,
        "files": {
            path: {"size": digest.size, "sha256": digest.sha256}
            for path, digest in sorted(manifest.files.items())
        },
    }
    (model_dir / MANIFEST_NAME).write_text(json.dumps(document, indent=2) + "\n", "utf-8")


def read_manifest(model_dir: Path) -> ModelManifest:
    """The manifest of an installed model; ManifestError if missing or malformed."""
    path = model_dir / MANIFEST_NAME
    try:
        document = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{model_dir.name} has no {MANIFEST_NAME}") from None
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{model_dir.name}: {MANIFEST_NAME} is unreadable") from exc
    try:
        if document["format"] != MANIFEST_FORMAT:
            raise ManifestError(f"{model_dir.name}: unknown manifest format {document['format']}")
        return ModelManifest(
            name=str(document["name"]),
            engine=str(document["engine"]),
            language=str(document["language"]),
            source=str(document["source"]),
            archive_sha256=str(document["archive_sha256"]),
            archive_bytes=int(document["archive_bytes"]),
            installed_at=str(document["installed_at"]),
            files={
                str(relative): FileDigest(int(entry["size"]), str(entry["sha256"]))
                for relative, entry in document["files"].items()
            },
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ManifestError(f"{model_dir.name}: {MANIFEST_NAME} is malformed") from exc


def verify_model(model_dir: Path) -> ModelVerification:
    """Re-hash every file of an installed model and compare with its manifest.

    Never raises for a damaged model: the result says what is wrong (`problem` when the
    manifest itself is missing or unreadable).
    """
    try:
        manifest = read_manifest(model_dir)
    except ManifestError as exc:
        return ModelVerification(model_dir.name, model_dir, False, 0, problem=str(exc))
    present = dict(_walk(model_dir))
    mismatched = []
    for relative, expected in sorted(manifest.files.items()):
        path = present.get(relative)
        if path is None:
            continue
        # Compare sizes first: a changed size needs no hashing.
        if path.stat().st_size != expected.size or sha256_file(path) != expected.sha256:
            mismatched.append(relative)
    missing = sorted(set(manifest.files) - set(present))
    unexpected = sorted(set(present) - set(manifest.files)) + _non_regular(model_dir)
    return ModelVerification(
        name=manifest.name,
        path=model_dir,
        ok=not (mismatched or missing or unexpected),
        files_checked=len(manifest.files),
        mismatched=tuple(mismatched),
        missing=tuple(missing),
        unexpected=tuple(unexpected),
    )


def _walk(root: Path) -> list[tuple[str, Path]]:
    files = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            relative = path.relative_to(root).as_posix()
            if relative != MANIFEST_NAME and path.is_file() and not path.is_symlink():
                files.append((relative, path))
    return sorted(files)


def _non_regular(root: Path) -> list[str]:
    """Links and special files: the installer never creates them, so they were added."""
    odd = []
    for folder, dirs, names in os.walk(root):
        for name in [*dirs, *names]:
            path = Path(folder, name)
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                odd.append(path.relative_to(root).as_posix())
    return sorted(odd)
