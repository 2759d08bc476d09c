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

import errno
import re
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from termkeep import paths
from termkeep.config.settings import LogMode
from termkeep.platform.files import open_private_append, rotate_file
from termkeep.terminal.plain_output import PlainOutput

MAX_LOG_BYTES = 20 * 1024 * 1024
KEEP_ROTATED = 3
_FIELD = re.compile(r"&(.)")


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
