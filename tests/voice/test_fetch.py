"""Model download and installation against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import stat
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from voice.errors import VoiceError
from voice.fetch import (
    MANIFEST_NAME,
    DownloadError,
    IncompleteDownload,
    InvalidModelArchive,
    ModelAlreadyInstalled,
    ModelFetchError,
    ModelSpec,
    UnknownModel,
    UnsafeArchive,
    fetch_model,
    install_model_archive,
    list_installed_models,
    verify_model,
    verify_models,
)

NAME = "vosk-model-small-en-us-0.15"
ARCHIVE_PATH = f"/{NAME}.zip"


@dataclass
class ServedFiles:
    """What the test server serves and how it misbehaves."""

    files: dict[str, bytes] = field(default_factory=dict)
    honour_range: bool = True
    # Send the full Content-Length but only this many body bytes, then hang up (once each).
    truncate_at: list[int] = field(default_factory=list)
    requests: list[tuple[str, str | None, int]] = field(default_factory=list)  # path, Range, status


class RangeHandler(BaseHTTPRequestHandler):
    """GET with single `bytes=N-` ranges, as static file servers and CDNs do."""

    server: ModelServer

    def do_GET(self) -> None:
        served = self.server.served
        body = served.files.get(self.path)
        requested = self.headers.get("Range")
        if body is None:
            self._reply(404, b"not found", {})
            return
        start = 0
        if requested and served.honour_range:
            start = int(requested.removeprefix("bytes=").removesuffix("-"))
            if start >= len(body):
                self._reply(416, b"", {"Content-Range": f"bytes */{len(body)}"})
                return
            status = 206
            headers = {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"}
        else:
            status, headers = 200, {}
        payload = body[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Content-Type", "application/zip")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        served.requests.append((self.path, requested, status))
        if served.truncate_at:
            self.wfile.write(payload[: served.truncate_at.pop(0)])
            self.close_connection = True
            return
        self.wfile.write(payload)

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
        self.server.served.requests.append((self.path, self.headers.get("Range"), status))

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, served: ServedFiles) -> None:
        super().__init__(("127.0.0.1", 0), RangeHandler)
        self.served = served

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def served() -> ServedFiles:
    return ServedFiles()


@pytest.fixture
def server(served: ServedFiles) -> Iterator[ModelServer]:
    httpd = ModelServer(served)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        thread.join(timeout=5)
        httpd.server_close()


# Incompressible bytes, so the archive is big enough to cut in the middle.
ACOUSTIC_MODEL = hashlib.shake_256(b"final.mdl").digest(300_000)
MODEL_FILES = {
    "am/final.mdl": ACOUSTIC_MODEL,
    "conf/model.conf": b"--min-active=200\n--max-active=3000\n--beam=10.0\n",
    "conf/mfcc.conf": b"--sample-frequency=16000\n--use-energy=false\n",
    "graph/HCLr.fst": hashlib.shake_256(b"HCLr").digest(50_000),
    "README": b"A test model laid out like Vosk's.\n",
}


def build_zip(
    members: dict[str, bytes], *, top: str | None = NAME, symlinks: dict[str, str] | None = None
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        prefix = f"{top}/" if top else ""
        if top:
            zf.writestr(f"{top}/", b"")
        for name, data in members.items():
            zf.writestr(prefix + name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(prefix + name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buffer.getvalue()


MODEL_ZIP = build_zip(MODEL_FILES)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_fetch_installs_model_with_manifest_and_verifies(
    tmp_path: Path, served: ServedFiles, server: ModelServer
) -> None:
    served.files[ARCHIVE_PATH] = MODEL_ZIP
    models = tmp_path / "models"
    seen: list[tuple[int, int | None]] = []

    manifest = fetch_model(
        NAME, models, base_url=server.base_url, progress=lambda *a: seen.append(a)
    )

    model_dir = models / NAME
    assert (model_dir / "am" / "final.mdl").read_bytes() == ACOUSTIC_MODEL
    assert (model_dir / "conf" / "model.conf").read_bytes() == MODEL_FILES["conf/model.conf"]
    assert sorted(os.listdir(models)) == [NAME]  # no .part, no staging folder
    assert manifest.name == NAME
    assert manifest.language == "en"
    assert manifest.engine == "vosk"
    assert manifest.source == server.base_url + ARCHIVE_PATH
    assert manifest.archive_sha256 == sha256(MODEL_ZIP)
    assert manifest.archive_bytes == len(MODEL_ZIP)
    assert set(manifest.files) == set(MODEL_FILES)
    assert manifest.files["am/final.mdl"].sha256 == sha256(ACOUSTIC_MODEL)
    assert manifest.files["am/final.mdl"].size == len(ACOUSTIC_MODEL)
    assert (model_dir / MANIFEST_NAME).is_file()
    assert stat.S_IMODE(model_dir.stat().st_mode) == 0o755

    assert seen[-1] == (len(MODEL_ZIP), len(MODEL_ZIP))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)

    result = verify_model(model_dir)
    assert result.ok
    assert result.files_checked == len(MODEL_FILES)
    assert list_installed_models(models) == [manifest]
    assert [v.ok for v in verify_models(models)] == [True]


def test_tampered_missing_and_added_files_fail_verification(
    tmp_path: Path, served: ServedFiles, server: ModelServer
) -> None:
    served.files[ARCHIVE_PATH] = MODEL_ZIP
    models = tmp_path / "models"
    fetch_model(NAME, models, base_url=server.base_url)
    model_dir = models / NAME

    conf = model_dir / "conf" / "model.conf"
    conf.write_bytes(conf.read_bytes().replace(b"--beam=10.0", b"--beam=13.0"))  # same size
    (model_dir / "README").unlink()
    (model_dir / "graph" / "extra.fst").write_bytes(b"x")
    (model_dir / "graph" / "link").symlink_to("/etc/hostname")

    result = verify_model(model_dir)

    assert not result.ok
    assert result.mismatched == ("conf/model.conf",)
    assert result.missing == ("README",)
    assert result.unexpected == ("graph/extra.fst", "graph/link")
    assert result.problem is None


def test_verify_reports_a_folder_without_manifest(tmp_path: Path) -> None:
    (tmp_path / "hand-copied-model" / "am").mkdir(parents=True)

    [result] = verify_models(tmp_path)

    assert not result.ok
    assert result.problem is not None and "has no .telehealth-model.json" in result.problem
    assert list_installed_models(tmp_path) == []


def test_truncated_download_errors_then_resumes_with_range(
    tmp_path: Path, served: ServedFiles, server: ModelServer
) -> None:
    served.files[ARCHIVE_PATH] = MODEL_ZIP
    served.truncate_at = [100_000]
    models = tmp_path / "models"
    part = models / f"{NAME}.zip.part"

    with pytest.raises(IncompleteDownload, match="run the fetch again to resume"):
        fetch_model(NAME, models, base_url=server.base_url)
    assert part.read_bytes() == MODEL_ZIP[:100_000]
    assert not (models / NAME).exists()

    seen: list[tuple[int, int | None]] = []
    manifest = fetch_model(
        NAME, models, base_url=server.base_url, progress=lambda *a: seen.append(a)
    )

    assert served.requests == [
        (ARCHIVE_PATH, None, 200),
        (ARCHIVE_PATH, "bytes=100000-", 206),
    ]
    assert seen[0][0] > 100_000 and seen[-1] == (len(MODEL_ZIP), len(MODEL_ZIP))
    assert manifest.archive_sha256 == sha256(MODEL_ZIP)
    assert not part.exists()
    assert verify_model(models / NAME).ok


def test_server_ignoring_range_restarts_the_download(
    tmp_path: Path, served: ServedFiles, server: ModelServer
) -> None:
    served.files[ARCHIVE_PATH] = MODEL_ZIP
    served.honour_range = False
    served.truncate_at = [70_000]
    models = tmp_path / "models"

    with pytest.raises(IncompleteDownload):
        fetch_model(NAME, models, base_url=server.base_url)
    manifest = fetch_model(NAME, models, base_url=server.base_url)

    assert served.requests == [
        (ARCHIVE_PATH, None, 200),
        (ARCHIVE_PATH, "bytes=70000-", 200),
    ]
    assert manifest.archive_sha256 == sha256(MODEL_ZIP)
    assert verify_model(models / NAME).ok


def test_complete_part_from_an_interrupted_install_is_not_downloaded_again(
    tmp_path: Path, served: ServedFiles, server: ModelServer
) -> None:
    served.files[ARCHIVE_PATH] = MODEL_ZIP
    models = tmp_path / "models"
    models.mkdir()
    (models / f"{NAME}.zip.part").write_bytes(MODEL_ZIP)
    (models / f".{NAME}.unpacking-stale").mkdir()  # a killed earlier unpack

    fetch_model(NAME, models, base_url=server.base_url)

    assert served.requests == [(ARCHIVE_PATH, f"bytes={len(MODEL_ZIP)}-", 416)]
    assert sorted(os.listdir(models)) == [NAME]
    assert verify_model(models / NAME).ok


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        (build_zip({**MODEL_FILES, "../../evil.txt": b"pwned"}), "outside the model directory"),
        (build_zip({"/tmp/evil.txt": b"pwned"}, top=None), "absolute path"),
        (build_zip(MODEL_FILES, symlinks={"conf/link": "../../../etc/passwd"}), "symbolic link"),
        (build_zip({**MODEL_FILES, "am/huge.bin": bytes(3_000_000)}), "would unpack to"),
        (build_zip({"am\\final.mdl": b"x"}), "invalid name"),
    ],
    ids=["dotdot", "absolute", "symlink", "zip-bomb", "backslash"],
)
def test_unsafe_archive_is_refused_and_leaves_nothing(
    tmp_path: Path, served: ServedFiles, server: ModelServer, archive: bytes, message: str
) -> None:
    served.files[ARCHIVE_PATH] = archive
    models = tmp_path / "models"

    with pytest.raises(UnsafeArchive, match=message):
        fetch_model(NAME, models, base_url=server.base_url, max_unpacked_bytes=2_000_000)

    assert os.listdir(models) == []
    assert sorted(os.listdir(tmp_path)) == ["models"]


def test_archive_that_is_not_a_vosk_model_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "notes.zip"
    archive.write_bytes(build_zip({"notes.txt": b"hello"}, top="notes"))
    models = tmp_path / "models"

    with pytest.raises(InvalidModelArchive, match="am/final.mdl is missing"):
        install_model_archive(archive, models, name="notes", language="en")

    assert os.listdir(models) == []
    assert archive.exists()


def test_corrupt_download_is_deleted_so_the_next_fetch_starts_over(
    tmp_path: Path, served: ServedFiles, server: ModelServer
) -> None:
    served.files[ARCHIVE_PATH] = b"<html>Service unavailable</html>"
    models = tmp_path / "models"

    with pytest.raises(InvalidModelArchive, match="not a readable zip archive"):
        fetch_model(NAME, models, base_url=server.base_url)

    assert os.listdir(models) == []


def test_checksum_mismatch_is_refused_before_unpacking(
    tmp_path: Path, served: ServedFiles, server: ModelServer
) -> None:
    served.files["/pinned.zip"] = MODEL_ZIP
    catalog = {"pinned": ModelSpec("pinned", "en", sha256="0" * 64)}
    models = tmp_path / "models"

    with pytest.raises(DownloadError, match="wrong SHA-256"):
        fetch_model("pinned", models, base_url=server.base_url, catalog=catalog)
    assert os.listdir(models) == []

    catalog = {"pinned": ModelSpec("pinned", "en", sha256=sha256(MODEL_ZIP).upper())}
    assert fetch_model("pinned", models, base_url=server.base_url, catalog=catalog).name == "pinned"


def test_unknown_name_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UnknownModel, match="unknown model 'vosk-model-xx'") as caught:
        fetch_model("vosk-model-xx", tmp_path / "models")
    assert "vosk-model-small-en-us-0.15" in str(caught.value)
    assert "vosk-model-en-us-0.22-lgraph" in str(caught.value)
    assert isinstance(caught.value, ModelFetchError)
    assert isinstance(caught.value, VoiceError)
    assert not (tmp_path / "models").exists()


def test_http_error_is_reported(tmp_path: Path, served: ServedFiles, server: ModelServer) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch_model(NAME, tmp_path / "models", base_url=server.base_url)
    assert os.listdir(tmp_path / "models") == []


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError, match="could not download .*ConnectError"):
        fetch_model(NAME, tmp_path / "models", base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(DownloadError, match="UnsupportedProtocol"):
        fetch_model(NAME, tmp_path / "models", base_url="ftp://127.0.0.1/models")


def test_installed_model_is_kept_unless_replaced(
    tmp_path: Path, served: ServedFiles, server: ModelServer
) -> None:
    served.files[ARCHIVE_PATH] = MODEL_ZIP
    models = tmp_path / "models"
    fetch_model(NAME, models, base_url=server.base_url)

    with pytest.raises(ModelAlreadyInstalled, match="already installed"):
        fetch_model(NAME, models, base_url=server.base_url)
    assert len(served.requests) == 1  # refused before downloading

    newer = {**MODEL_FILES, "README": b"Version two.\n"}
    served.files[ARCHIVE_PATH] = build_zip(newer)
    manifest = fetch_model(NAME, models, base_url=server.base_url, replace=True)

    assert (models / NAME / "README").read_bytes() == b"Version two.\n"
    assert manifest.archive_sha256 == sha256(served.files[ARCHIVE_PATH])
    assert sorted(os.listdir(models)) == [NAME]
    assert verify_model(models / NAME).ok


def test_offline_install_from_a_zip_without_top_folder(tmp_path: Path) -> None:
    archive = tmp_path / "model.zip"
    archive.write_bytes(build_zip(MODEL_FILES, top=None))

    manifest = install_model_archive(archive, tmp_path / "models", name="site-model", language="ko")

    assert manifest.source == "model.zip"
    assert manifest.language == "ko"
    assert (tmp_path / "models" / "site-model" / "am" / "final.mdl").read_bytes() == ACOUSTIC_MODEL
    assert verify_model(tmp_path / "models" / "site-model").ok
