"""The local end of a transfer: the source file of an upload, the partial file of a download,
and local failures in plain words."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from termkeep.transfers.names import part_name

HASH_CHUNK = 1 << 20
_PRIVATE = 0o600


def current_umask() -> int:
    """The process's umask, read without changing it (Linux: /proc), else set and put back."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


class LocalFileError(Exception):
    """A local file could not be read or written; the message is the plain-words line."""


def local_problem(error: OSError, path: Path | str) -> LocalFileError:
    """``error`` as one line naming the problem on this computer and the file."""
    match error.errno:
        case errno.ENOSPC:
            words = "no space left on this computer"
        case errno.EDQUOT:
            words = "disk quota exceeded on this computer"
        case errno.EFBIG:
            words = "the file is too large for this computer (file size limit)"
        case errno.ENOENT:
            words = "no such file or directory on this computer"
        case errno.EACCES | errno.EPERM:
            words = "permission denied on this computer"
        case errno.EISDIR:
            words = "it is a directory"
        case errno.ELOOP:
            words = "it is a symbolic link, which termkeep does not write through"
        case _:
            words = error.strerror or str(error)
    return LocalFileError(f"{words}: {path}")


@dataclass(frozen=True, slots=True)
class LocalSource:
    """An upload's source, open for reading: its descriptor, size and permission bits."""

    fd: int
    size: int
    mode: int

    @classmethod
    def open(cls, path: Path) -> LocalSource:
        """Open ``path`` (a regular file); raises ``LocalFileError``."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as error:
            raise local_problem(error, path) from error
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            os.close(fd)
            what = "a directory" if stat.S_ISDIR(status.st_mode) else "not a regular file"
            raise LocalFileError(f"{path} is {what}; termkeep sends regular files")
        return cls(fd, status.st_size, stat.S_IMODE(status.st_mode) & 0o777)

    def close(self) -> None:
        os.close(self.fd)


class LocalPart:
    """A download's partial file ``NAME.termkeep-part``: 0600 while written, the normal mode
    (0666 less the umask) just before it takes its final name."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.path = final.with_name(part_name(final.name))
        self.fd: int | None = None

    def open(self, *, fresh: bool) -> None:
        """Open (creating it 0600); emptied when ``fresh``. Raises ``LocalFileError``. A
        symlink in the partial's place is refused (O_NOFOLLOW), not written through."""
        flags = os.O_RDWR | os.O_CREAT  # read back for the checksum
        flags |= os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags | (os.O_TRUNC if fresh else 0), _PRIVATE)
            os.fchmod(fd, _PRIVATE)
        except OSError as error:
            raise local_problem(error, self.path) from error
        self.fd = fd

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def size(self) -> int:
        return self.path.stat().st_size

    def finish(self, umask: int, *, replace: bool) -> None:
        """Flush, give the normal mode, and rename to the final name: over an existing file
        only when ``replace``, else failing (EEXIST) if one appeared meanwhile."""
        try:
            if self.fd is not None:
                os.fsync(self.fd)
                os.fchmod(self.fd, 0o666 & ~umask)
            self.close()
            if replace:
                self.path.replace(self.final)
            else:
                # link() refuses an existing name atomically, as rename cannot.
                os.link(self.path, self.final)
                self.path.unlink()
        except FileExistsError as error:
            raise LocalFileError(f"{self.final} appeared meanwhile; it was left alone") from error
        except OSError as error:
            raise local_problem(error, self.final) from error

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def sha256_of(path: Path) -> str:
    """The SHA-256 of the file at ``path``, hex; blocking, so run it in a thread. Raises
    ``LocalFileError``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        raise local_problem(error, path) from error
    try:
        return sha256_of_fd(fd)
    except OSError as error:
        raise local_problem(error, path) from error
    finally:
        os.close(fd)


class PrefixDigest:
    """The SHA-256 of a file's first ``offset`` bytes, extended as more of them become final
    (a download's bytes below its acknowledged offset), so that the check after the last
    byte only hashes what came last. Extended from one thread at a time."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self.offset = 0

    def extend(self, fd: int, upto: int) -> None:
        """Hash the bytes from ``offset`` up to ``upto`` (pread: the descriptor's offset is
        untouched); a file shorter than ``upto`` raises ``EOFError``."""
        while self.offset < upto:
            chunk = os.pread(fd, min(HASH_CHUNK, upto - self.offset), self.offset)
            if not chunk:
                raise EOFError(f"the file ends at {self.offset}, before {upto}")
            self._sha.update(chunk)
            self.offset += len(chunk)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def sha256_of_fd(fd: int) -> str:
    """The SHA-256 of an open file, read with pread (the descriptor's offset is untouched)."""
    digest = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, HASH_CHUNK, offset):
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()
