"""Session logs, like PuTTY's: one file per tab, across reconnects, with a line at each drop
and reattach.

``log = "output"`` keeps the printable text of what the remote sent (escape sequences
stripped: ``terminal.plain_output``); ``"raw"`` keeps the bytes as they came, for replaying
with ``cat``. Only the remote's output is written: keystrokes never are, so a password typed
at a prompt that does not echo it is never in a log.

The path is a pattern with PuTTY's fields (``&H`` host, ``&P`` profile, ``&Y`` ``&M`` ``&D``
date, ``&T`` time, ``&&`` a literal ``&``); a relative path is under the state directory's
``logs/``. Files are 0600 in a 0700 directory. At ``MAX_LOG_BYTES`` the file is rotated:
``name.1`` .. ``name.KEEP_ROTATED`` hold the older parts, the oldest is dropped.

A remote or a profile chooses the field values (a host called ``~root`` or ``../../x``), so
a value is only ever part of a file name: it never adds or climbs a directory and never
expands ``~`` (only the pattern's own leading ``~`` does). A log file is opened with
O_NOFOLLOW and must be a regular file owned by the user; anything else (a symlink planted
where the log goes, a FIFO, a device, someone else's file) is refused with an OSError that
says why, which stops the log with a notice.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from termkeep import paths
from termkeep.config.atomic import PRIVATE_FILE_MODE, ensure_private_dir
from termkeep.config.files import file_kind
from termkeep.terminal.plain_output import PlainOutput

DEFAULT_LOG_PATTERN = "&P &Y-&M-&D &T.log"
MAX_LOG_BYTES = 20 * 1024 * 1024
KEEP_ROTATED = 3
_FIELD = re.compile(r"&(.)")


class LogMode(StrEnum):
    """What a session log keeps."""

    OFF = "off"
    OUTPUT = "output"
    """Printable text, escape sequences stripped."""
    RAW = "raw"
    """The bytes the remote sent."""


def log_file_path(pattern: str, *, profile: str, host: str, now: datetime) -> Path:
    """``pattern`` with its fields filled in; relative paths land in the logs directory.

    Field values never add a directory, climb one or name a home: ``/`` becomes ``_``, a
    value of only dots (``..``) becomes as many ``_``, and ``~`` is expanded in the pattern
    before the fields are filled in, never after. OSError when the pattern's ``~user`` has
    no home.
    """
    fields = {
        "H": host,
        "P": profile,
        "Y": f"{now.year:04d}",
        "M": f"{now.month:02d}",
        "D": f"{now.day:02d}",
        "T": now.strftime("%H%M%S"),
        "&": "&",
    }

    def filled(match: re.Match[str]) -> str:
        value = fields.get(match.group(1))
        if value is None:
            return match.group(0)
        return file_name_part(value)

    path = Path(_FIELD.sub(filled, _expand_home(pattern)))
    return path if path.is_absolute() else paths.logs_dir() / path


def file_name_part(value: str) -> str:
    """``value`` made safe as part of one file name: no ``/`` or NUL, and not ``.``/``..``."""
    part = value.replace("/", "_").replace("\0", "_")
    return "_" * len(part) if part and part.strip(".") == "" else part


def _expand_home(pattern: str) -> str:
    """The pattern with its own leading ``~`` or ``~user`` expanded; a ``~`` followed by a
    field (``~&H``) stays literal, since the field's value must not choose a home."""
    if not pattern.startswith("~"):
        return pattern
    home_part, slash, rest = pattern.partition("/")
    if "&" in home_part:
        return pattern
    try:
        home = Path(home_part).expanduser()
    except RuntimeError:  # an unknown ~user
        reason = f"log path {pattern!r}: {home_part!r} has no home directory"
        raise OSError(errno.ENOENT, reason) from None
    return f"{home}{slash}{rest}"


class SessionLog:
    """An open session log; ``write`` the remote's output, ``note`` termkeep's own lines."""

    def __init__(self, path: Path, mode: LogMode, max_bytes: int = MAX_LOG_BYTES) -> None:
        if mode is LogMode.OFF:
            raise ValueError("a session log needs a mode other than off")
        self.path = path
        self.mode = mode
        self._max_bytes = max_bytes
        self._plain = PlainOutput()
        self._file = self._open()

    def _open(self) -> BinaryIO:
        return open_private_append(self.path)

    def write(self, data: bytes) -> None:
        """Output from the remote (never keystrokes)."""
        if self.mode is LogMode.RAW:
            self._append(data)
        else:
            self._append(self._plain.feed(data).encode())

    def note(self, text: str, now: datetime | None = None) -> None:
        """A line of termkeep's own, with the time: a drop, a reattach, logging started."""
        stamp = (now or datetime.now().astimezone()).isoformat(timespec="seconds")
        # A raw log is replayed with cat on a terminal, which needs the carriage return.
        newline = "\r\n" if self.mode is LogMode.RAW else "\n"
        self._append(f"{newline}[termkeep {stamp}] {text}{newline}".encode())

    def close(self) -> None:
        self._file.close()

    def _append(self, data: bytes) -> None:
        if not data:
            return
        if self._file.tell() + len(data) > self._max_bytes:
            self._rotate()
        self._file.write(data)

    def _rotate(self) -> None:
        self._file.close()
        rotate_file(self.path, KEEP_ROTATED)
        self._file = self._open()


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
