"""The data directory (`var/`) holds keys and the database: owner-only, whatever the umask.

Every file is created with mode 0600 from its first byte (never chmod'ed after writing), the
directory is 0700, and start-up tightens what an earlier version left readable.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if needed and make it 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    # mkdir applies the umask and leaves an existing directory as it was.
    os.chmod(path, PRIVATE_DIR_MODE)


def create_private_file(path: Path) -> None:
    """Create an empty 0600 file if there is none; an existing file is made 0600."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        # O_CREAT's mode passes through the umask, which may only remove bits; an existing
        # file keeps its old mode, so set it explicitly.
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
    finally:
        os.close(descriptor)


def _write_temporary(path: Path, text: str) -> Path:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
        os.write(descriptor, text.encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return temporary


def write_private_file(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, never readable by anyone but the owner."""
    os.replace(_write_temporary(path, text), path)


def write_private_file_once(path: Path, text: str) -> str:
    """Create ``path`` with ``text`` unless it exists; return what the file holds.

    Two processes starting at once on a new `var/` both generate a key; linking (which
    fails when the name exists) lets exactly one of them win and the other read its key.
    """
    temporary = _write_temporary(path, text)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    finally:
        temporary.unlink()
    return text


def restrict_existing(paths: Iterable[Path]) -> None:
    """Make those of ``paths`` that exist 0600 (files an earlier version left 0644)."""
    for path in paths:
        try:
            os.chmod(path, PRIVATE_FILE_MODE)
        except FileNotFoundError:
            continue
