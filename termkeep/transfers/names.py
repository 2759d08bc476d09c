"""Names for the files a transfer writes: remote names made safe as local ones, the partial
file's name, and "keep both" names.

A remote name is whatever the server sent: a hostile or broken server can send ``../..``,
a slash, a newline or terminal controls. Only what is returned here is ever joined to a
local directory. Pure: no I/O.
"""

from __future__ import annotations

import os
import re
from pathlib import PurePosixPath

PART_SUFFIX = ".termkeep-part"
"""A file being written carries this until it is complete and checked."""

NAME_MAX = 255
"""Bytes in one file name on Linux file systems (ext4, xfs, btrfs, tmpfs)."""

REPLACEMENT = "_"

# C0 controls, DEL, C1 controls, the slash and bidi controls (which can make "gpj.exe" read
# as "exe.jpg"); a name's bytes that were not UTF-8 arrive as surrogate escapes and are kept.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f/\u202a-\u202e\u2066-\u2069]")
_LEADING_DOTS = re.compile(r"^\.{2,}")


class UnsafeNameError(ValueError):
    """A remote name that cannot become a local one (empty, ``.`` or ``..``)."""


def safe_local_name(remote_name: str) -> str:
    """``remote_name`` as a single local file name: slashes, controls and bidi controls become
    ``_``, a leading ``..`` (and any longer run of dots) becomes underscores, and the name is
    shortened so that its partial file's name still fits in ``NAME_MAX`` bytes. Raises
    ``UnsafeNameError`` for a name that is nothing once cleaned (``""``, ``.``, ``..``)."""
    if remote_name in {"", ".", ".."}:
        raise UnsafeNameError(f"{remote_name!r} is not a file name")
    cleaned = _UNSAFE.sub(REPLACEMENT, remote_name)
    cleaned = _LEADING_DOTS.sub(lambda dots: REPLACEMENT * len(dots.group()), cleaned)
    return _fit(cleaned, NAME_MAX - len(PART_SUFFIX))


def _fit(name: str, limit: int) -> str:
    """``name`` cut to ``limit`` bytes (as the file system stores it), keeping its extension
    and never cutting a character in half."""
    if len(os.fsencode(name)) <= limit:
        return name
    stem, extension = split_extension(name)
    if len(os.fsencode(extension)) > limit // 2:
        stem, extension = name, ""
    room = limit - len(os.fsencode(extension))
    while len(os.fsencode(stem)) > room:
        stem = stem[:-1]
    return stem + extension


_DOUBLE_EXTENSIONS = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst")


def split_extension(name: str) -> tuple[str, str]:
    """``("photo", ".jpg")``, ``("backup", ".tar.gz")``, ``(".bashrc", "")``."""
    lowered = name.lower()
    for double in _DOUBLE_EXTENSIONS:
        if lowered.endswith(double) and len(name) > len(double):
            return name[: -len(double)], name[-len(double) :]
    extension = PurePosixPath(name).suffix
    stem = name[: len(name) - len(extension)]
    return (stem, extension) if stem.strip(".") else (name, "")


def numbered(name: str, number: int) -> str:
    """The "keep both" name: ``photo (1).jpg`` for ``photo.jpg`` and 1."""
    stem, extension = split_extension(name)
    return _fit(f"{stem} ({number}){extension}", NAME_MAX - len(PART_SUFFIX))


def part_name(name: str) -> str:
    """The name a file is written under until it is complete."""
    return name + PART_SUFFIX
