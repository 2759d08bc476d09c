"""Files on this machine, written and read without trusting what is already there.

Writing: private directories (0700) and files (0600), crash-safe replacement (the old content
or the new one, never half of either), append-only files that refuse a symlink, a FIFO or
someone else's file planted where they go, and size-bounded rotation.

Reading a file a user or another program may have put anywhere (a config file, known_hosts):
a file may be a FIFO (opening it for reading blocks until someone writes), a device, a 200 MB
file, or TOML nested 100,000 deep (tomllib recurses and raises RecursionError; a long dotted
key makes it use memory quadratic in its length). So:

- only a regular file is read; anything else is refused from ``stat`` alone, before any
  open, and the open itself is non-blocking and re-checked with ``fstat`` (the name may
  have been swapped in between);
- at most ``MAX_CONFIG_BYTES`` are read;
- the text must be UTF-8; the first bad byte is named by line and column;
- TOML is pre-scanned for nesting (brackets, braces and dotted-key parts) before tomllib
  sees it.

A symlink is followed on purpose when reading: a profile may live in a dotfiles repository.
Every refusal is a ``RefusedFileError`` naming the file and the reason, so one bad file is one
line; the config layer wraps it in its own ``ConfigFileError``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import tomllib
from pathlib import Path
from typing import Any, BinaryIO

# --- private files, written whole ----------------------------------------------------------


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


# --- reading files that anyone may have put there ------------------------------------------


MAX_CONFIG_BYTES = 1024 * 1024
"""No profile, settings, theme, tabs or known_hosts file comes near this; a bigger one is
not read at all."""

MAX_TOML_NESTING = 32
"""Tables, arrays and dotted-key parts inside each other; termkeep's own files use three."""

_READ_CHUNK = 64 * 1024


class RefusedFileError(Exception):
    """A file that is refused as a whole: not a regular file, too big, not UTF-8 or nested
    too deep."""

    def __init__(self, path: Path, reason: str, line: int | None = None) -> None:
        self.path = path
        self.reason = reason
        """What is wrong and how to fix it, without the file's name."""
        self.line = line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


def file_kind(mode: int) -> str:
    """What a non-regular file is, in plain words (``a FIFO``)."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISLNK, "a symbolic link"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _check_status(path: Path, status: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(status.st_mode):
        kind = file_kind(status.st_mode)
        raise RefusedFileError(path, f"is {kind}, not a regular file; replace it with a file")
    if status.st_size > limit:
        raise RefusedFileError(path, _too_big(status.st_size, limit))


def _too_big(size: int, limit: int) -> str:
    return f"is {size:,} bytes, more than the {limit:,} a config file may have; shorten it"


def read_regular_bytes(path: Path, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of the regular file ``path`` (at most ``limit``).

    Raises RefusedFileError for anything else, FileNotFoundError when there is no file, and
    other OSErrors (no permission) as they come.
    """
    _check_status(path, path.stat(), limit)  # a FIFO or device is never opened
    # O_NONBLOCK: if a FIFO was swapped in after the stat, the open returns at once
    # instead of waiting for a writer, and fstat below refuses it.
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        _check_status(path, os.fstat(descriptor), limit)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:  # the file may grow after fstat: still never more than limit
            chunk = os.read(descriptor, _READ_CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(descriptor)
    if total > limit:
        raise RefusedFileError(path, _too_big(total, limit))
    return b"".join(chunks)


def decode_utf8(path: Path, data: bytes) -> str:
    """``data`` as UTF-8, or a RefusedFileError naming the line and column of the bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        reason = (
            f"not UTF-8 text: byte 0x{data[error.start]:02x} at column {column} "
            "(was it saved as Latin-1?); save the file as UTF-8"
        )
        raise RefusedFileError(path, reason, line) from None


def read_regular_text(path: Path, limit: int = MAX_CONFIG_BYTES) -> str:
    """The UTF-8 text of the regular file ``path``; see ``read_regular_bytes``."""
    return decode_utf8(path, read_regular_bytes(path, limit))


# Strings and comments are skipped whole (a bracket inside them is text); what is left are
# the characters that nest (brackets, braces, dots between key parts) and those that end a
# key or value (newline, '=', ',').
_TOML_TOKEN = re.compile(
    r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*|[][{}.=,\n]',
    re.DOTALL,
)


def toml_nesting_problem(text: str, limit: int = MAX_TOML_NESTING) -> tuple[int, str] | None:
    """Where ``text`` nests deeper than ``limit`` (line, what), or None; linear time.

    Conservative: a float's dot counts as a key part, which only matters for a key of
    ``limit`` parts already.
    """
    depth = 0
    dots = 0
    for token in _TOML_TOKEN.finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            dots = 0
        elif mark in "]}":
            depth = max(depth - 1, 0)
            dots = 0
        elif mark == ".":
            dots += 1
        elif mark in "\n=,":
            dots = 0
        if depth > limit or dots >= limit:
            line = text.count("\n", 0, token.start()) + 1
            what = "arrays or tables" if depth > limit else "dotted key parts"
            return line, f"{what} nested more than {limit} deep; flatten the file"
    return None


def parse_toml(path: Path, text: str) -> dict[str, Any]:
    """``tomllib.loads(text)`` after the nesting check (RefusedFileError when too deep);
    TOMLDecodeError as tomllib raises it."""
    problem = toml_nesting_problem(text)
    if problem is not None:
        line, reason = problem
        raise RefusedFileError(path, reason, line)
    return tomllib.loads(text)


def load_toml_file(path: Path) -> dict[str, Any]:
    """Read and parse the TOML file ``path`` with every check above."""
    return parse_toml(path, read_regular_text(path))


# --- private files, appended to and rotated ------------------------------------------------


_APPEND_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
)
"""O_NOFOLLOW: a symlink put where the log goes is never written through. O_NONBLOCK: a
FIFO swapped in after the check below fails to open (no reader) or is refused by fstat,
instead of blocking the app until someone reads it."""


def open_private_append(path: Path) -> BinaryIO:
    """``path`` opened for appending, unbuffered: made 0600, in a 0700 directory if new.

    An existing ``path`` must be a regular file of this user, not a symlink: anything else
    raises OSError naming the reason, and a FIFO or a device is never opened.
    """
    return os.fdopen(open_private_append_fd(path), "ab", buffering=0)


def open_private_append_fd(path: Path) -> int:
    """The descriptor behind ``open_private_append``."""
    ensure_private_dir(path.parent)
    with contextlib.suppress(FileNotFoundError):  # made by the open below
        _check_log_file(path, os.lstat(path))
    try:
        descriptor = os.open(path, _APPEND_FLAGS, PRIVATE_FILE_MODE)
    except OSError as error:
        if error.errno == errno.ELOOP:  # made a symlink after the lstat
            raise _refused(path, "is a symbolic link") from None
        raise
    try:
        _check_log_file(path, os.fstat(descriptor))
        os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _check_log_file(path: Path, status: os.stat_result) -> None:
    if stat.S_ISLNK(status.st_mode):
        raise _refused(path, "is a symbolic link")
    if not stat.S_ISREG(status.st_mode):
        raise _refused(path, f"is {file_kind(status.st_mode)}, not a regular file")
    if status.st_uid != os.geteuid():
        raise _refused(path, f"belongs to another user (uid {status.st_uid})")


def _refused(path: Path, why: str) -> OSError:
    return OSError(
        errno.EPERM,
        f"{why}: termkeep writes logs only to regular files of your own; remove it",
        str(path),
    )


def rotate_file(path: Path, keep: int) -> None:
    """Move ``path`` to ``path.1`` (``.1`` to ``.2`` ..., up to ``.keep``; the oldest part
    is dropped), so that the next write starts a fresh file."""
    for index in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{index}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{index + 1}"))
    path.replace(path.with_name(f"{path.name}.1"))
