"""Installing speech models: `telehealth models fetch NAME` and `telehealth models verify`.

`fetch_model(name, models_dir)` downloads the official archive for a known model name
(streaming, resumable through `models_dir/NAME.zip.part`), checks it, unpacks it into a
staging folder beside the target, validates the layout, writes a manifest, and only then
renames the folder to `models_dir/NAME`: a model directory is either complete or absent.
`install_model_archive` does the same from a zip already on disk (for offline sites), and
`verify_model` / `verify_models` re-hash installed files against their manifests.

Errors all derive from `ModelFetchError` (a `VoiceError`).
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from voice.fetch_archive import (
    DEFAULT_MAX_UNPACKED_BYTES,
    InvalidModelArchive,
    ModelFetchError,
    UnsafeArchive,
    extract_model_zip,
    remove_tree,
)
from voice.fetch_manifest import (
    MANIFEST_NAME,
    FileDigest,
    ManifestError,
    ModelManifest,
    ModelVerification,
    build_manifest,
    read_manifest,
    sha256_file,
    verify_model,
    write_manifest,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "KNOWN_MODELS",
    "MANIFEST_NAME",
    "DownloadError",
    "FileDigest",
    "IncompleteDownload",
    "InvalidModelArchive",
    "ManifestError",
    "ModelAlreadyInstalled",
    "ModelFetchError",
    "ModelManifest",
    "ModelSpec",
    "ModelVerification",
    "ProgressCallback",
    "UnknownModel",
    "UnsafeArchive",
    "fetch_model",
    "install_model_archive",
    "list_installed_models",
    "verify_model",
    "verify_models",
]

DEFAULT_BASE_URL = "https://alphacephei.com/vosk/models"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")

ProgressCallback = Callable[[int, int | None], None]
"""Called as bytes arrive with (bytes downloaded so far, total size or None if unknown)."""


class UnknownModel(ModelFetchError):
    """The name is not in the catalog of downloadable models."""


class ModelAlreadyInstalled(ModelFetchError):
    """`models_dir/NAME` exists; pass `replace=True` to install over it."""


class DownloadError(ModelFetchError):
    """The server refused the download, or the downloaded archive has the wrong checksum."""


class IncompleteDownload(DownloadError):
    """The transfer stopped early; the `.part` file is kept and the next fetch resumes it."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A downloadable model: its archive is `{base_url}/{name}.zip`."""

    name: str
    language: str  # BCP-47 primary tag
    engine: str = "vosk"
    sha256: str | None = None  # of the archive, when known; checked before unpacking

    def archive_url(self, base_url: str) -> str:
        """Where the archive lives under `base_url` (the official site, or a mirror)."""
        return f"{base_url.rstrip('/')}/{self.name}.zip"


KNOWN_MODELS: Mapping[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("vosk-model-small-en-us-0.15", "en"),
        ModelSpec("vosk-model-en-us-0.22-lgraph", "en"),
        ModelSpec("vosk-model-en-us-0.22", "en"),
        ModelSpec("vosk-model-small-ko-0.22", "ko"),
    )
}


def fetch_model(
    name: str,
    models_dir: Path,
    *,
    base_url: str = DEFAULT_BASE_URL,
    progress: ProgressCallback | None = None,
    replace: bool = False,
    timeout_s: float = 30.0,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
    catalog: Mapping[str, ModelSpec] = KNOWN_MODELS,
    client: httpx.Client | None = None,
) -> ModelManifest:
    """Download and install model `name` into `models_dir/name`; return its manifest.

    An interrupted download raises IncompleteDownload and keeps `models_dir/name.zip.part`;
    calling again resumes it (HTTP Range). `timeout_s` bounds each network wait, not the
    whole transfer. A bad archive (unsafe, corrupt, not a model) is deleted and leaves
    nothing in `models_dir`. Pass `client` to use your own httpx.Client (proxy, CA bundle);
    its own timeouts then apply. `progress` is called from this thread as bytes arrive.
    """
    spec = catalog.get(name)
    if spec is None:
        known = ", ".join(sorted(catalog))
        raise UnknownModel(f"unknown model {name!r}; known models: {known}")
    _check_name(name)
    _refuse_existing(models_dir / name, replace)
    models_dir.mkdir(parents=True, exist_ok=True)
    url = spec.archive_url(base_url)
    part = models_dir / f"{name}.zip.part"
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(httpx.Client(timeout=timeout_s, follow_redirects=True))
        download_resumable(client, url, part, progress=progress)
    archive_sha256 = sha256_file(part)
    if spec.sha256 is not None and archive_sha256 != spec.sha256.lower():
        part.unlink()
        raise DownloadError(f"{name}.zip has the wrong SHA-256; it was deleted, fetch again")
    try:
        manifest = install_model_archive(
            part,
            models_dir,
            name=name,
            language=spec.language,
            engine=spec.engine,
            source=url,
            replace=replace,
            max_unpacked_bytes=max_unpacked_bytes,
            archive_sha256=archive_sha256,
        )
    except (UnsafeArchive, InvalidModelArchive):
        part.unlink(missing_ok=True)  # resuming a bad archive would not fix it
        raise
    part.unlink()
    return manifest


def download_resumable(
    client: httpx.Client, url: str, part: Path, *, progress: ProgressCallback | None = None
) -> int:
    """Complete `part` from `url`, resuming from its current size; return its final size.

    Servers that ignore Range (200) make it start over; 416 on a complete part means done.
    """
    for _attempt in range(2):
        offset = part.stat().st_size if part.exists() else 0
        headers = {"Accept-Encoding": "identity"}  # sizes and ranges are of the raw bytes
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            with client.stream("GET", url, headers=headers) as response:
                if response.status_code == 416 and offset:
                    total = _range_total(response.headers.get("content-range"))
                    if total == offset:
                        if progress is not None:
                            progress(offset, total)
                        return offset
                    part.unlink()  # the part does not match the remote file; start over
                    continue
                return _receive(response, part, offset, progress)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # before any body byte arrived
            raise DownloadError(f"could not download {url}: {type(exc).__name__}") from exc
    raise DownloadError(f"download of {url} could not be resumed")


def _receive(
    response: httpx.Response, part: Path, offset: int, progress: ProgressCallback | None
) -> int:
    if response.status_code == 206:
        start, total = _content_range(response.headers.get("content-range"))
        if start != offset:
            raise DownloadError(f"server resumed at byte {start}, not {offset}")
        mode = "ab"
    elif response.status_code == 200:
        offset, mode = 0, "wb"  # Range ignored: the whole file is coming
        length = response.headers.get("content-length")
        total = int(length) if length is not None and length.isdigit() else None
    else:
        raise DownloadError(f"download of {response.url} failed: HTTP {response.status_code}")
    received = offset
    with part.open(mode) as sink:
        try:
            # No chunk size: httpx would hold back a partial chunk and lose it on a drop.
            for chunk in response.iter_raw():
                sink.write(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(received, total)
        except httpx.TransportError as exc:
            raise IncompleteDownload(
                f"download stopped at {received} of {total or '?'} bytes ({type(exc).__name__});"
                " run the fetch again to resume"
            ) from exc
    if total is not None and received != total:
        raise IncompleteDownload(
            f"download stopped at {received} of {total} bytes; run the fetch again to resume"
        )
    return received


def _content_range(header: str | None) -> tuple[int, int | None]:
    match = _CONTENT_RANGE.match(header or "")
    if match is None:
        raise DownloadError(f"server sent a partial response with Content-Range {header!r}")
    total = match.group(3)
    return int(match.group(1)), (int(total) if total != "*" else None)


def _range_total(header: str | None) -> int | None:
    match = re.match(r"^bytes \*/(\d+)$", header or "")
    return int(match.group(1)) if match else None


def install_model_archive(
    archive: Path,
    models_dir: Path,
    *,
    name: str,
    language: str,
    engine: str = "vosk",
    source: str | None = None,
    replace: bool = False,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
    archive_sha256: str | None = None,
) -> ModelManifest:
    """Unpack a model zip into `models_dir/name` atomically and write its manifest.

    The archive is unpacked into a hidden staging folder in `models_dir`, validated and
    hashed there, and renamed into place; on any error the staging folder is removed and
    `models_dir/name` is untouched. The archive file itself is left alone.
    """
    _check_name(name)
    target = models_dir / name
    _refuse_existing(target, replace)
    models_dir.mkdir(parents=True, exist_ok=True)
    for stale in models_dir.glob(f".{name}.unpacking-*"):  # left by a killed earlier run
        remove_tree(stale)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.unpacking-", dir=models_dir))
    try:
        staging.chmod(0o755)  # mkdtemp makes it 0700; the server may run as another user
        extract_model_zip(archive, staging, max_unpacked_bytes=max_unpacked_bytes)
        _check_layout(engine, staging, name)
        manifest = build_manifest(
            staging,
            name=name,
            engine=engine,
            language=language,
            source=source or archive.name,
            archive_sha256=archive_sha256 or sha256_file(archive),
            archive_bytes=archive.stat().st_size,
        )
        write_manifest(staging, manifest)
        _move_into_place(staging, target)
    except BaseException:
        remove_tree(staging)
        raise
    return manifest


def list_installed_models(models_dir: Path) -> list[ModelManifest]:
    """Manifests of the models installed in `models_dir` (folders without one are skipped)."""
    manifests = []
    for folder in _model_folders(models_dir):
        with contextlib.suppress(ManifestError):
            manifests.append(read_manifest(folder))
    return manifests


def verify_models(models_dir: Path) -> list[ModelVerification]:
    """`verify_model` for every model folder in `models_dir` (hidden staging folders skipped)."""
    return [verify_model(folder) for folder in _model_folders(models_dir)]


def _model_folders(models_dir: Path) -> list[Path]:
    if not models_dir.is_dir():
        return []
    return sorted(p for p in models_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def _check_name(name: str) -> None:
    # The name becomes a folder name: no separators, no "..", no hidden names.
    if not _NAME.match(name):
        raise UnknownModel(f"invalid model name {name!r}")


def _refuse_existing(target: Path, replace: bool) -> None:
    if target.exists() and not replace:
        raise ModelAlreadyInstalled(
            f"{target.name} is already installed in {target.parent}; use replace to reinstall"
        )


# Files without which the engine cannot load the model; checked before installing.
_REQUIRED_FILES = {"vosk": ("am/final.mdl", "conf/model.conf")}


def _check_layout(engine: str, model_dir: Path, name: str) -> None:
    for relative in _REQUIRED_FILES.get(engine, ()):
        if not (model_dir / relative).is_file():
            raise InvalidModelArchive(f"{name} is not a {engine} model: {relative} is missing")


def _move_into_place(staging: Path, target: Path) -> None:
    if not target.exists():
        staging.rename(target)
        return
    # Replacing: move the old model aside, put the new one in, then delete the old one; if
    # the second rename fails, put the old one back.
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    retired.rmdir()
    target.rename(retired)
    try:
        staging.rename(target)
    except BaseException:
        retired.rename(target)
        raise
    remove_tree(retired)
