"""A live tab's file transfers, seen through the ui's TabTransfers protocol.

The tab's ``TransferSession`` (session/transfers.py) is a second connection of the tab's
profile, without PTY or tmux, so bulk data never queues in front of the tab's keystrokes. It
connects when the first transfer or listing is asked for, not when the tab opens: a tab that
never moves a file never makes the second connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from termkeep.config.store import ProfileStore
from termkeep.session.browse import BrowseError, RemoteDirectory
from termkeep.session.tab_session import Session
from termkeep.session.transfers import TransferSession
from termkeep.supervisor.updates import Notice
from termkeep.transfers.jobs import ExistsDecider
from termkeep.transfers.model import TransferView
from termkeep.transport.prompts import Prompter
from termkeep.transport.remote_files import RemoteEntry
from termkeep.ui.session_api import RemoteListingError

_log = logging.getLogger(__name__)


class LiveTransfers:
    """Implements TabTransfers over a ``TransferSession`` started on first use."""

    def __init__(
        self,
        tab: Session,
        prompter: Prompter,
        store: ProfileStore,
        decide: ExistsDecider,
        notice: Callable[[str], None],
    ) -> None:
        """``notice`` hears the transfer connection's notices (a drop, a failed login)."""
        self._session = TransferSession.for_tab(tab, prompter, decide=decide, store=store)
        self._session.on_update(
            lambda update: (
                notice(f"file connection: {update.text}") if isinstance(update, Notice) else None
            )
        )
        self._host = tab.profile.host
        self._directory = RemoteDirectory(self._session.core.supervisor, self._host)
        self._starting: asyncio.Task[None] | None = None

    @property
    def host(self) -> str:
        return self._host

    @property
    def session(self) -> TransferSession:
        """The transfer connection and its queue (for tests and the status line)."""
        return self._session

    def upload(self, local_paths: Sequence[Path], remote_dir: str | None) -> list[int]:
        self._start()
        return self._session.upload(local_paths, remote_dir)

    def download(self, remote_paths: Sequence[str], local_dir: Path) -> list[int]:
        self._start()
        return self._session.download(remote_paths, local_dir)

    def transfers(self) -> list[TransferView]:
        return self._session.transfers()

    def cancel(self, ident: int) -> None:
        self._session.cancel(ident)

    def retry(self, ident: int) -> None:
        self._start()
        self._session.retry(ident)

    def add_listener(self, listener: Callable[[TransferView], None]) -> None:
        self._session.add_listener(listener)

    def remove_listener(self, listener: Callable[[TransferView], None]) -> None:
        self._session.remove_listener(listener)

    async def home(self) -> str:
        self._start()
        try:
            return await self._directory.home()
        except BrowseError as error:
            raise RemoteListingError(str(error)) from error

    async def realpath(self, path: str) -> str:
        self._start()
        try:
            return await self._directory.realpath(path)
        except BrowseError as error:
            raise RemoteListingError(str(error)) from error

    async def listdir(self, path: str) -> list[RemoteEntry]:
        self._start()
        try:
            return await self._directory.listdir(path)
        except BrowseError as error:
            raise RemoteListingError(str(error)) from error

    async def close(self) -> None:
        """With the tab: the listing session, the queue, then the connection."""
        self._directory.close()
        if self._starting is None:
            return
        if not self._starting.done():
            self._starting.cancel()
        await asyncio.gather(self._starting, return_exceptions=True)
        await self._session.close()

    def _start(self) -> None:
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._session.start())
            self._starting.add_done_callback(_log_start_failure)


def _log_start_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        _log.warning("the transfer connection did not start: %s", error)
