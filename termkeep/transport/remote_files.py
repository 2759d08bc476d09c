"""The server's files as the layers above the transport see them (SFTP underneath).

``SideChannels.open_files()`` returns a ``RemoteFiles``: a file session on the link's own
connection. Paths are ``str`` as ``os.fsdecode`` makes them (bytes that are not UTF-8 come
through as surrogate escapes and go back unchanged). Failures are termkeep's own:
``RemoteFileError`` when the server refused an operation on a file (the connection is
fine), ``NoSftpError`` when the server offers no SFTP at all, and ``SideChannelError`` when
the connection went (the caller waits for the next link and resumes).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class FileProblem(StrEnum):
    """Why the server refused an operation on a file, in plain words."""

    MISSING = "no such file or directory"
    PERMISSION = "permission denied"
    NO_SPACE = "no space left on the server"
    EXISTS = "it already exists"
    UNSUPPORTED = "the server does not support this"
    FAILED = "the server could not do it"
    """SFTP version 3 (OpenSSH's) says only "Failure" for most errors: a full disk, a quota,
    a file too large, a directory in the way."""


class RemoteFileError(Exception):
    """The server refused an operation on ``path``; ``server_words`` is what it said."""

    def __init__(self, problem: FileProblem, path: str, server_words: str = "") -> None:
        super().__init__(f"{path}: {problem}")
        self.problem = problem
        self.path = path
        self.server_words = server_words


NO_SFTP = "this server does not offer SFTP; ask its admin to enable the sftp subsystem"


class NoSftpError(Exception):
    """The server refused the SFTP subsystem (no ``Subsystem sftp`` in its sshd_config)."""

    def __init__(self) -> None:
        super().__init__(NO_SFTP)


class EntryKind(StrEnum):
    """What a directory entry is."""

    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"
    OTHER = "other"
    """A device, a socket, a pipe: nothing to transfer."""


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    """A remote file's name (the last part of its path), kind, size, permission bits and
    modification time (seconds since the epoch; 0 when the server did not say)."""

    name: str
    kind: EntryKind
    size: int
    mode: int
    mtime: float


class RemoteFile(Protocol):
    """An open remote file. Reads and writes take an offset, so many can be in flight at
    once (each is one SFTP request, at most ``RemoteFiles.block_size`` bytes)."""

    async def read(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes at ``offset``; fewer when the server sends less (the caller
        asks again for the rest), ``b""`` at the end of the file."""
        ...

    async def write(self, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset``; returns once the server acknowledged it."""
        ...

    async def close(self) -> None:
        """Close the remote handle (the server has written everything it acknowledged)."""
        ...


class RemoteFiles(Protocol):
    """A file session on the server (SFTP); raises as the module docstring says."""

    @property
    def block_size(self) -> int:
        """The largest read or write one request may carry on this server."""
        ...

    async def home(self) -> str:
        """The login directory, as an absolute path."""
        ...

    async def realpath(self, path: str) -> str:
        """``path`` made absolute, ``..`` and symlinks resolved by the server."""
        ...

    async def stat(self, path: str) -> RemoteEntry:
        """What ``path`` is, following a symlink."""
        ...

    async def lstat(self, path: str) -> RemoteEntry:
        """What ``path`` is, a symlink itself being reported as one."""
        ...

    async def listdir(self, path: str) -> list[RemoteEntry]:
        """The entries of a directory (without ``.`` and ``..``), symlinks as symlinks."""
        ...

    async def open_read(self, path: str) -> RemoteFile:
        """Open an existing file for reading."""
        ...

    async def open_write(self, path: str, *, truncate: bool) -> RemoteFile:
        """Open ``path`` for writing, created 0600 if missing and set to 0600 if not;
        emptied first when ``truncate``."""
        ...

    async def chmod(self, path: str, mode: int) -> None: ...

    async def rename(self, old: str, new: str, *, replace: bool) -> None:
        """Rename ``old`` to ``new``; without ``replace`` an existing ``new`` is an error
        (``FileProblem.EXISTS`` or ``FAILED``), never overwritten."""
        ...

    async def remove(self, path: str) -> None: ...

    async def mkdir(self, path: str) -> None: ...

    async def free_space(self, path: str) -> int | None:
        """Bytes an unprivileged user may still write on ``path``'s file system; None when
        the server cannot say."""
        ...

    def close(self) -> None:
        """End the file session (open handles go with it)."""
        ...
