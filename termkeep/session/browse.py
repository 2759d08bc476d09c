"""Browsing the server's directories for a download, on the transfer connection.

``RemoteDirectory`` lists directories over an SFTP session of the tab's transfer connection
(the bare second connection its ``TransferSession`` keeps), never the tab's own: a large
listing must not queue in front of keystrokes either. It waits (bounded) for that connection
to be attached, and says every failure in one line (``BrowseError``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from termkeep.supervisor.state import Status
from termkeep.supervisor.updates import Update
from termkeep.transfers.service import LinkSource
from termkeep.transport.link import Link, SideChannelError
from termkeep.transport.remote_files import (
    NoSftpError,
    RemoteEntry,
    RemoteFileError,
    RemoteFiles,
)

LINK_WAIT = 20.0
"""Seconds a listing waits for the transfer connection to be attached."""
REQUEST_TIMEOUT = 20.0
MAX_ENTRIES = 20_000
"""Entries of one directory shown at most (a huge spool directory stays usable)."""


class BrowseError(Exception):
    """A directory could not be listed; the message says why in plain words."""


class RemoteDirectory:
    """Lists the server's directories over ``links`` (see the module's notes)."""

    def __init__(self, links: LinkSource, host: str, *, link_wait: float = LINK_WAIT) -> None:
        self._links = links
        self._host = host
        self._link_wait = link_wait
        self._files: tuple[Link, RemoteFiles] | None = None
        self._changed = asyncio.Event()
        links.add_listener(self._on_update)

    async def home(self) -> str:
        """The login directory, absolute."""
        return await self._ask(lambda files: files.home(), "the login directory")

    async def realpath(self, path: str) -> str:
        """``path`` absolute, symlinks and ``..`` resolved by the server."""
        return await self._ask(lambda files: files.realpath(path), path)

    async def listdir(self, path: str) -> list[RemoteEntry]:
        """The entries of directory ``path`` (symlinks as symlinks), at most MAX_ENTRIES."""
        entries = await self._ask(lambda files: files.listdir(path), path)
        return entries[:MAX_ENTRIES]

    async def stat(self, path: str) -> RemoteEntry:
        """What ``path`` is, a symlink followed."""
        return await self._ask(lambda files: files.stat(path), path)

    def close(self) -> None:
        """End the file session (the connection is its TransferSession's)."""
        if self._files is not None:
            with contextlib.suppress(Exception):
                self._files[1].close()
            self._files = None

    async def _ask[T](self, request: _Request[T], what: str) -> T:
        files = await self._session()
        try:
            return await asyncio.wait_for(request(files), REQUEST_TIMEOUT)
        except RemoteFileError as error:
            raise BrowseError(f"{error.path}: {error.problem}") from error
        except (SideChannelError, TimeoutError) as error:
            self.close()
            raise BrowseError(f"could not read {what} on {self._host}: {error}") from error

    async def _session(self) -> RemoteFiles:
        link = await self._attached_link()
        if self._files is not None and self._files[0] is link:
            return self._files[1]
        self.close()
        try:
            files = await link.open_files()
        except NoSftpError as error:
            raise BrowseError(str(error)) from error
        except SideChannelError as error:
            raise BrowseError(f"could not open a file session on {self._host}: {error}") from error
        self._files = (link, files)
        return files

    async def _attached_link(self) -> Link:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._link_wait
        while True:
            link = self._links.current_link
            if link is not None and not link.connection_closed:
                return link
            self._changed.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise BrowseError(
                    f"the file connection to {self._host} is not up; try again once it is"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    def _on_update(self, update: Update) -> None:
        if isinstance(update, Status):
            self._changed.set()


type _Request[T] = Callable[[RemoteFiles], Awaitable[T]]
