"""Reading the user's config files without trusting them: profiles, settings, themes.

A file in the config directory may be anything: a FIFO (opening it for reading blocks until
someone writes), a device, a 200 MB file, or TOML nested 100,000 deep (tomllib recurses and
raises RecursionError; a long dotted key makes it use memory quadratic in its length). So:

- only a regular file is read; anything else is refused from ``stat`` alone, before any
  open, and the open itself is non-blocking and re-checked with ``fstat`` (the name may
  have been swapped in between);
- at most ``MAX_CONFIG_BYTES`` are read;
- the text must be UTF-8; the first bad byte is named by line and column;
- TOML is pre-scanned for nesting (brackets, braces and dotted-key parts) before tomllib
  sees it.

A symlink is followed on purpose: a profile may live in a dotfiles repository. Every refusal
is a ``ConfigFileError`` naming the file and the reason, so one bad file is one line and the
other files still load.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from termkeep.config.errors import ConfigError

MAX_CONFIG_BYTES = 1024 * 1024
"""No profile, settings or theme file comes near this; a bigger one is not read at all."""

MAX_TOML_NESTING = 32
"""Tables, arrays and dotted-key parts inside each other; termkeep's own files use three."""

_READ_CHUNK = 64 * 1024


class ConfigFileError(ConfigError):
    """A config file that is refused as a whole: not a regular file, too big, not UTF-8 or
    nested too deep."""

    def __init__(self, path: Path, reason: str, line: int | None = None) -> None:
        self.path = path
        self.reason = reason
        """What is wrong and how to fix it, without the file's name."""
        self.line = line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


def located_reason(error: ConfigFileError) -> str:
    """The reason with its line, for messages that name the file separately."""
    return f"line {error.line}: {error.reason}" if error.line is not None else error.reason


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
        raise ConfigFileError(path, f"is {kind}, not a regular file; replace it with a file")
    if status.st_size > limit:
        raise ConfigFileError(path, _too_big(status.st_size, limit))


def _too_big(size: int, limit: int) -> str:
    return f"is {size:,} bytes, more than the {limit:,} a config file may have; shorten it"


def read_config_bytes(path: Path, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of the regular file ``path`` (at most ``limit``).

    Raises ConfigFileError for anything else, FileNotFoundError when there is no file, and
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
        raise ConfigFileError(path, _too_big(total, limit))
    return b"".join(chunks)


def decode_utf8(path: Path, data: bytes) -> str:
    """``data`` as UTF-8, or a ConfigFileError naming the line and column of the bad byte."""
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
        raise ConfigFileError(path, reason, line) from None


def read_config_text(path: Path, limit: int = MAX_CONFIG_BYTES) -> str:
    """The UTF-8 text of the regular file ``path``; see ``read_config_bytes``."""
    return decode_utf8(path, read_config_bytes(path, limit))


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
    """``tomllib.loads(text)`` after the nesting check (ConfigFileError when too deep);
    TOMLDecodeError as tomllib raises it."""
    problem = toml_nesting_problem(text)
    if problem is not None:
        line, reason = problem
        raise ConfigFileError(path, reason, line)
    return tomllib.loads(text)


def load_toml_file(path: Path) -> dict[str, Any]:
    """Read and parse the TOML file ``path`` with every check above."""
    return parse_toml(path, read_config_text(path))
