"""``RemoteFiles`` over asyncssh's SFTP client, on a link's own connection.

Each read and write is one SFTP request (asyncssh's own splitting is turned off with
``block_size=0``), so the caller decides how many are in flight and knows which ones the
server acknowledged: that is what lets a transfer resume exactly where every byte below was
written (transfers/pipeline.py). The channel gets a larger SSH window than asyncssh's
default, so a long round trip is not capped at 2 MiB in flight while downloading.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import stat
from collections.abc import Awaitable, Callable

import asyncssh
from asyncssh import sftp as asyncssh_sftp

from termkeep.transport.classify import side_channel_failed
from termkeep.transport.remote_files import (
    EntryKind,
    FileProblem,
    NoSftpError,
    RemoteEntry,
    RemoteFileError,
)

MAX_BLOCK = 256 * 1024
"""The largest request we send even if a server allows more (OpenSSH allows 255 KiB)."""

SFTP_WINDOW = 16 * 1024 * 1024
"""SSH window of the SFTP channel: what the server may send before we acknowledge. 16 MiB
keeps 80 MB/s flowing at a 200 ms round trip."""

SFTP_MAX_PACKET = 256 * 1024
"""Largest SSH packet we accept on the channel (one SFTP block plus its header fits)."""

_OPEN_FOR_WRITE = asyncssh.FXF_WRITE | asyncssh.FXF_CREAT
_PRIVATE = 0o600

_PROBLEMS: dict[int, FileProblem] = {
    asyncssh.FX_NO_SUCH_FILE: FileProblem.MISSING,
    asyncssh.FX_NO_SUCH_PATH: FileProblem.MISSING,
    asyncssh.FX_NOT_A_DIRECTORY: FileProblem.MISSING,
    asyncssh.FX_PERMISSION_DENIED: FileProblem.PERMISSION,
    asyncssh.FX_WRITE_PROTECT: FileProblem.PERMISSION,
    asyncssh.FX_NO_SPACE_ON_FILESYSTEM: FileProblem.NO_SPACE,
    asyncssh.FX_QUOTA_EXCEEDED: FileProblem.NO_SPACE,
    asyncssh.FX_FILE_ALREADY_EXISTS: FileProblem.EXISTS,
    asyncssh.FX_OP_UNSUPPORTED: FileProblem.UNSUPPORTED,
}
_CONNECTION_GONE = frozenset({asyncssh.FX_CONNECTION_LOST, asyncssh.FX_NO_CONNECTION})


def _failure(exc: BaseException, path: str) -> Exception:
    """asyncssh's exception as termkeep's: a file problem, or the connection gone."""
    if isinstance(exc, asyncssh.SFTPError) and exc.code not in _CONNECTION_GONE:
        return RemoteFileError(_PROBLEMS.get(exc.code, FileProblem.FAILED), path, exc.reason)
    return side_channel_failed(exc)


async def _call[T](path: str, call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except (asyncssh.Error, OSError) as exc:
        raise _failure(exc, path) from exc


def _kind(mode: int) -> EntryKind:
    if stat.S_ISREG(mode):
        return EntryKind.FILE
    if stat.S_ISDIR(mode):
        return EntryKind.DIRECTORY
    if stat.S_ISLNK(mode):
        return EntryKind.SYMLINK
    return EntryKind.OTHER


def _entry(name: str, attrs: asyncssh.SFTPAttrs) -> RemoteEntry:
    mode = attrs.permissions or 0
    return RemoteEntry(
        name=name,
        kind=_kind(mode),
        size=attrs.size or 0,
        mode=stat.S_IMODE(mode),
        mtime=float(attrs.mtime or 0),
    )


class _SftpFile:
    """A ``RemoteFile``: one SFTP request per read or write."""

    def __init__(self, file: asyncssh.SFTPClientFile, path: str) -> None:
        self._file = file
        self._path = path

    async def read(self, offset: int, size: int) -> bytes:
        data: bytes = await _call(self._path, lambda: self._file.read(size, offset))
        return data

    async def write(self, offset: int, data: bytes) -> None:
        await _call(self._path, lambda: self._file.write(data, offset))

    async def close(self) -> None:
        await _call(self._path, self._file.close)


class SftpFiles:
    """``RemoteFiles`` over one SFTP session."""

    def __init__(self, client: asyncssh.SFTPClient) -> None:
        self._client = client
        limits = client.limits
        self._block = min(limits.max_read_len, limits.max_write_len, MAX_BLOCK)

    @property
    def block_size(self) -> int:
        return self._block

    async def home(self) -> str:
        return await self.realpath(".")

    async def realpath(self, path: str) -> str:
        resolved: bytes = await _call(path, lambda: self._client.realpath(os.fsencode(path)))
        return os.fsdecode(resolved)

    async def stat(self, path: str) -> RemoteEntry:
        attrs = await _call(path, lambda: self._client.stat(os.fsencode(path)))
        return _entry(posixpath.basename(path), attrs)

    async def lstat(self, path: str) -> RemoteEntry:
        attrs = await _call(path, lambda: self._client.lstat(os.fsencode(path)))
        return _entry(posixpath.basename(path), attrs)

    async def listdir(self, path: str) -> list[RemoteEntry]:
        names = await _call(path, lambda: self._client.readdir(os.fsencode(path)))
        entries = []
        for name in names:
            decoded = os.fsdecode(name.filename)
            if decoded not in {".", ".."}:
                entries.append(_entry(decoded, name.attrs))
        return entries

    async def open_read(self, path: str) -> _SftpFile:
        file = await _call(
            path,
            lambda: self._client.open(
                os.fsencode(path), asyncssh.FXF_READ, encoding=None, block_size=0
            ),
        )
        return _SftpFile(file, path)

    async def open_write(self, path: str, *, truncate: bool) -> _SftpFile:
        flags = _OPEN_FOR_WRITE | (asyncssh.FXF_TRUNC if truncate else 0)
        private = asyncssh.SFTPAttrs(permissions=_PRIVATE)
        file = await _call(
            path,
            lambda: self._client.open(
                os.fsencode(path), flags, private, encoding=None, block_size=0
            ),
        )
        # An existing file keeps its mode on open: make it private before any byte lands.
        await _call(path, lambda: file.chmod(_PRIVATE))
        return _SftpFile(file, path)

    async def chmod(self, path: str, mode: int) -> None:
        await _call(path, lambda: self._client.chmod(os.fsencode(path), mode))

    async def rename(self, old: str, new: str, *, replace: bool) -> None:
        if not replace:
            # Plain SFTP rename: OpenSSH links then unlinks, so an existing name fails.
            await _call(new, lambda: self._client.rename(os.fsencode(old), os.fsencode(new)))
            return
        try:
            await _call(new, lambda: self._client.posix_rename(os.fsencode(old), os.fsencode(new)))
        except RemoteFileError as error:
            if error.problem is not FileProblem.UNSUPPORTED:
                raise
            await self.remove(new)
            await self.rename(old, new, replace=False)

    async def remove(self, path: str) -> None:
        await _call(path, lambda: self._client.remove(os.fsencode(path)))

    async def mkdir(self, path: str) -> None:
        await _call(path, lambda: self._client.mkdir(os.fsencode(path)))

    async def free_space(self, path: str) -> int | None:
        try:
            vfs = await _call(path, lambda: self._client.statvfs(os.fsencode(path)))
        except RemoteFileError:
            return None
        return int(vfs.bavail * (vfs.frsize or vfs.bsize))

    def close(self) -> None:
        self._client.exit()


async def open_sftp(conn: asyncssh.SSHClientConnection) -> SftpFiles:
    """Start SFTP on ``conn``; raises ``NoSftpError`` when the server refuses the subsystem,
    ``SideChannelError`` when the connection is gone."""
    try:
        writer, reader, _ = await conn.open_session(
            subsystem="sftp", encoding=None, window=SFTP_WINDOW, max_pktsize=SFTP_MAX_PACKET
        )
    except asyncssh.ChannelOpenError as exc:
        if exc.code == asyncssh.OPEN_REQUEST_SESSION_FAILED:
            raise NoSftpError from exc
        raise side_channel_failed(exc) from exc
    except (asyncssh.Error, OSError) as exc:
        raise side_channel_failed(exc) from exc
    try:
        # What SSHClientConnection.start_sftp_client does, on the channel opened above with
        # our window; paths stay bytes (path_encoding None) so any name round-trips.
        client = await asyncssh_sftp.start_sftp_client(
            conn,
            asyncio.get_running_loop(),
            "strict",
            reader,
            writer,
            None,
            "strict",
            asyncssh_sftp.MIN_SFTP_VERSION,
        )
    except (asyncssh.Error, OSError) as exc:
        writer.close()
        raise side_channel_failed(exc) from exc
    return SftpFiles(client)
