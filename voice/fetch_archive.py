"""Unpacking a model zip without trusting it: `extract_model_zip`.

Every member is checked before anything is written: no absolute paths, no `..`, no links or
device files, no duplicates, and a cap on the total unpacked size (zip bombs). Writing then
counts the bytes actually produced rather than trusting the sizes the archive declares.
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from voice.errors import VoiceError

# Vosk's largest English model unpacks to about 2.7 GB.
DEFAULT_MAX_UNPACKED_BYTES = 4 * 1024**3
DEFAULT_MAX_MEMBERS = 20_000
_COPY_CHUNK = 1 << 20
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


class ModelFetchError(VoiceError):
    """Base of the errors of model download, installation and verification."""


class UnsafeArchive(ModelFetchError):
    """The archive tries to write outside its directory, or to unpack to too much data."""


class InvalidModelArchive(ModelFetchError):
    """The file is not a readable zip archive, or not a model of the expected kind."""


@dataclass(frozen=True, slots=True)
class _Member:
    info: zipfile.ZipInfo
    path: PurePosixPath  # relative to the destination, top-level folder stripped
    is_dir: bool


def extract_model_zip(
    archive: Path,
    dest: Path,
    *,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> int:
    """Unpack `archive` into the existing empty directory `dest`; return the bytes written.

    A single folder that holds everything (as in Vosk's zips: `vosk-model-.../am/...`) is
    stripped, so `dest` receives the model's own files. Raises UnsafeArchive or
    InvalidModelArchive; on error `dest` may hold a partial tree (the caller discards it).
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            members = _checked_members(zf, max_unpacked_bytes, max_members)
            return _write_members(zf, members, dest, max_unpacked_bytes)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise InvalidModelArchive(
            f"{archive.name} is not a readable zip archive (corrupt or incomplete download?)"
        ) from exc


def _checked_members(
    zf: zipfile.ZipFile, max_unpacked_bytes: int, max_members: int
) -> list[_Member]:
    infos = zf.infolist()
    if len(infos) > max_members:
        raise UnsafeArchive(f"archive has {len(infos)} entries; the limit is {max_members}")
    declared = sum(info.file_size for info in infos)
    if declared > max_unpacked_bytes:
        raise UnsafeArchive(
            f"archive would unpack to {declared} bytes; the limit is {max_unpacked_bytes}"
        )
    paths = [_safe_relative_path(info) for info in infos]
    strip = _common_top_folder(paths, infos)
    members: list[_Member] = []
    seen: set[PurePosixPath] = set()
    for info, path in zip(infos, paths, strict=True):
        relative = PurePosixPath(*path.parts[1:]) if strip else path
        if relative == PurePosixPath("."):
            continue  # the stripped top-level folder itself
        if relative in seen:
            raise UnsafeArchive(f"archive lists {info.filename!r} twice")
        seen.add(relative)
        members.append(_Member(info, relative, info.is_dir()))
    return members


def _safe_relative_path(info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename
    if not name or "\x00" in name or "\\" in name:
        raise UnsafeArchive(f"archive entry {name!r} has an invalid name")
    if name.startswith("/") or _WINDOWS_DRIVE.match(name):
        raise UnsafeArchive(f"archive entry {name!r} is an absolute path")
    path = PurePosixPath(name)
    if not path.parts:
        raise UnsafeArchive(f"archive entry {name!r} has an invalid name")
    if ".." in path.parts:
        raise UnsafeArchive(f"archive entry {name!r} points outside the model directory")
    kind = stat.S_IFMT(info.external_attr >> 16)
    # Links are refused outright: checking where a chain of them ends up, before any of them
    # exists on disk, is easy to get wrong, and no model needs them.
    if kind == stat.S_IFLNK:
        raise UnsafeArchive(f"archive entry {name!r} is a symbolic link")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise UnsafeArchive(f"archive entry {name!r} is not a regular file or folder")
    return path


def _common_top_folder(paths: list[PurePosixPath], infos: list[zipfile.ZipInfo]) -> bool:
    """True when every entry sits inside one top-level folder (which is then stripped)."""
    tops = {path.parts[0] for path in paths}
    if len(tops) != 1:
        return False
    # A lone top-level *file* is content, not a wrapper folder.
    return all(
        len(path.parts) > 1 or info.is_dir() for path, info in zip(paths, infos, strict=True)
    )


def _write_members(
    zf: zipfile.ZipFile, members: list[_Member], dest: Path, max_unpacked_bytes: int
) -> int:
    root = dest.resolve()
    written = 0
    for member in members:
        target = dest.joinpath(*member.path.parts)
        # Belt and braces after the name checks: the parent must resolve inside `dest`.
        if not target.parent.resolve().is_relative_to(root):
            raise UnsafeArchive(f"archive entry {member.info.filename!r} escapes the directory")
        if member.is_dir:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(member.info) as source, target.open("xb") as sink:
            # "xb" never follows or overwrites an existing entry.
            remaining = member.info.file_size
            while chunk := source.read(_COPY_CHUNK):
                remaining -= len(chunk)
                written += len(chunk)
                if remaining < 0 or written > max_unpacked_bytes:
                    raise UnsafeArchive("archive unpacks to more data than it declares")
                sink.write(chunk)
    return written


def remove_tree(path: Path) -> None:
    """Delete a directory tree we created (staging areas); missing is fine."""
    shutil.rmtree(path, ignore_errors=True)
