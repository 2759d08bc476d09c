"""Crash-safe writes of private files: the old content or the new one, never half of either."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def ensure_private_dir(directory: Path) -> None:
    """Create ``directory`` and each missing parent readable by its owner only (0700).

    Directories that already exist keep their mode: one may be shared on purpose (a home,
    ``~/.config``), and the files termkeep puts in them are 0600 anyway. (``Path.mkdir`` with
    ``parents=True`` would make the parents 0777 minus the umask, usually 0755.)
    """
    missing: list[Path] = []
    current = directory
    while not current.is_dir() and current.parent != current:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            if not path.is_dir():
                raise
            # Made by someone else in the meantime: theirs, so its mode is left alone.


def fsync_dir(directory: Path) -> None:
    """Flush a directory entry change (a rename, a new or removed file) to disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private_file(path: Path, text: str, *, replace: bool = True) -> None:
    """Write ``text`` to ``path`` atomically, mode 0600.

    The text goes to a hidden temp file in the same directory (so the rename cannot cross
    file systems), is fsynced, then renamed over the target, and the directory is fsynced so
    the rename itself survives a crash. With ``replace=False`` the temp file is hard-linked
    to the target instead, which fails with FileExistsError if the target appeared in the
    meantime, so a file created concurrently is never clobbered. If anything fails the temp
    file is removed and the original file is untouched.
    """
    ensure_private_dir(path.parent)
    # mkstemp creates the file 0600 from the start, so it is never readable by others,
    # not even for a moment.
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            temp.replace(path)
        else:
            os.link(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    fsync_dir(path.parent)
