"""``termkeep put TARGET LOCAL... [--to DIR]`` and ``termkeep get TARGET REMOTE... [--to DIR]``:
scp that does not die on a train.

One SSH connection (no PTY, no tmux) kept by the same supervisor as a tab's, carrying an SFTP
session; a drop pauses the file in flight, which resumes on the next connection from the last
offset every byte below was acknowledged at. Each file ends with one line on stdout (a live
bar while it runs when stdout is a terminal); termkeep's own words (the link going and coming
back, a file failing) are ``[termkeep]`` lines on stderr. An existing destination is never
overwritten unless ``--overwrite`` says so (``--keep-both`` writes ``name (1).ext``).

Exit codes follow scp/ssh: 0 when every file arrived, 1 when any failed, 255 when the
connection cannot be made without a person (authentication, host key) or a signal stopped it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from termkeep import paths
from termkeep.config.profile import Profile
from termkeep.config.store import ProfileStore
from termkeep.platform.tty import STDERR_FD, write_fully
from termkeep.session.stop import EXIT_GAVE_UP, EXIT_OK, HeadlessRun
from termkeep.session.transfers import TransferSession
from termkeep.supervisor.phase import Phase
from termkeep.supervisor.state import Status
from termkeep.supervisor.updates import Notice, Update
from termkeep.terminal.durations import NOTICE, duration_text
from termkeep.terminal.ssh_text import ssh_visible
from termkeep.transfers.model import (
    Direction,
    Existing,
    ExistingFile,
    TransferState,
    TransferView,
    rate_text,
    size_text,
)
from termkeep.transport.prompts import TerminalPrompter

EXIT_FILE_FAILED = 1
"""scp's code when a file could not be copied."""
PREFIX = "[termkeep]"
STDOUT_FD = 1
BAR_WIDTH = 24
_GIVE_UP_STATES = {Phase.NEEDS_USER, Phase.FAILED}
EXISTING_HINT = "--overwrite replaces it, --keep-both keeps both"


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """What the command line asked for."""

    direction: Direction
    sources: Sequence[str]
    destination: str | None
    """``--to``: the remote directory (put; None: the login directory) or the local one."""
    existing: Existing = Existing.REFUSE


class _ProgressLines:
    """One line per file on stdout: a bar redrawn in place on a terminal, else the final line
    only."""

    def __init__(self, fd: int = STDOUT_FD) -> None:
        self._fd = fd
        self._live = os.isatty(fd)
        self._started: dict[int, float] = {}
        self._drawn = False

    def show(self, view: TransferView, now: float) -> None:
        self._started.setdefault(view.id, now)
        if view.state.active:
            if self._live and view.state is TransferState.RUNNING:
                self._draw(_bar_line(view))
            elif self._live and view.state is TransferState.WAITING:
                self._draw(f"{_label(view)}  {_percent(view)} waiting for the link")
            return
        if view.state is TransferState.DONE and not view.reason:
            self._end_line(_done_line(view, now - self._started[view.id]))
        elif self._drawn:
            self._clear()

    def _draw(self, text: str) -> None:
        columns = shutil.get_terminal_size().columns
        self._write(f"\r{ssh_visible(text)[: max(10, columns - 1)]}\x1b[K")
        self._drawn = True

    def _clear(self) -> None:
        self._write("\r\x1b[K")
        self._drawn = False

    def _end_line(self, text: str) -> None:
        prefix = "\r" if self._drawn else ""
        self._write(f"{prefix}{ssh_visible(text)}{chr(27) + '[K' if self._live else ''}\n")
        self._drawn = False

    def _write(self, text: str) -> None:
        write_fully(self._fd, text.encode(errors="surrogateescape"))


def _label(view: TransferView) -> str:
    return view.name


def _percent(view: TransferView) -> str:
    fraction = view.fraction
    return "  ?%" if fraction is None else f"{fraction:4.0%}"


def _bar_line(view: TransferView) -> str:
    fraction = view.fraction or 0.0
    filled = int(fraction * BAR_WIDTH)
    bar = "#" * filled + " " * (BAR_WIDTH - filled)
    parts = [_label(view), _percent(view), f"[{bar}]"]
    if view.size is not None:
        parts.append(size_text(view.size))
    if view.rate is not None:
        parts.append(rate_text(view.rate))
    if view.eta is not None:
        parts.append(f"{duration_text(view.eta, NOTICE)} left")
    return "  ".join(parts)


def _done_line(view: TransferView, elapsed: float) -> str:
    size = view.size or 0
    rate = f", {rate_text(size / elapsed)}" if elapsed > 0 else ""
    check = f", checked: {view.check}" if view.check is not None else ""
    resent = f", {size_text(view.resent)} sent again after drops" if view.resent else ""
    return (
        f"{view.name} -> {view.destination}  {size_text(size)} in "
        f"{duration_text(elapsed, NOTICE)}{rate}{check}{resent}"
    )


class TransferRun:
    """One ``termkeep put`` or ``termkeep get``: a ``TransferSession`` (the connection and
    its queue) run by a ``HeadlessRun``, so it stops as ``attach`` and ``tunnel`` do."""

    def __init__(
        self,
        profile: Profile,
        store: ProfileStore,
        request: TransferRequest,
        *,
        out_fd: int = STDOUT_FD,
        err_fd: int = STDERR_FD,
    ) -> None:
        self._request = request
        self._err_fd = err_fd
        self._progress = _ProgressLines(out_fd)
        self._loop = asyncio.get_running_loop()
        self.session = TransferSession(
            profile,
            TerminalPrompter(),
            decide=self._decide,
            store=store,
            # Drops go into the connection history like a tab's (termkeep history prints them).
            history_file=paths.connection_history_file(),
        )
        self.session.on_update(self._on_update)
        self.session.add_listener(self._on_transfer)
        self._run = HeadlessRun(self.say, [self])
        self._refused_existing = False
        self._waiting: asyncio.Task[None] | None = None

    def say(self, line: str) -> None:
        """One ``[termkeep]`` line on stderr, shown with ssh's rules (it may quote a server)."""
        write_fully(self._err_fd, f"{PREFIX} {ssh_visible(line)}\n".encode())

    async def run(self) -> int:
        """Transfer every file; the exit code."""
        return await self._run.run()

    async def start(self) -> None:
        """Connect and queue the files (the run calls it; ``run`` is the entry point)."""
        await self.session.start()
        for source in self._request.sources:
            if self._request.direction is Direction.UPLOAD:
                self.session.upload([Path(source)], self._request.destination)
            else:
                self.session.download([source], Path(self._request.destination or "."))
        self._waiting = asyncio.ensure_future(self._finish_when_idle())

    async def _finish_when_idle(self) -> None:
        await self.session.wait_idle()
        views = self.session.transfers()
        failed = [view for view in views if view.state is TransferState.FAILED]
        if self._refused_existing:
            self.say(EXISTING_HINT)
        self._run.finish(EXIT_FILE_FAILED if failed else EXIT_OK)

    async def close(self) -> None:
        """Settle the partial files, then close the session (the run calls it)."""
        if self._waiting is not None:
            self._waiting.cancel()
        for view in self.session.transfers():
            if view.state.active:
                self.session.cancel(view.id)  # a stop: partial files go (no run resumes them)
            elif view.state is TransferState.FAILED and not view.mismatched:
                self.session.discard(view.id)  # a mismatch's partial is kept, and said where
        await self.session.close()

    async def _decide(self, _existing: ExistingFile) -> Existing:
        if self._request.existing is Existing.REFUSE:
            self._refused_existing = True
        return self._request.existing

    def _on_transfer(self, view: TransferView) -> None:
        self._progress.show(view, self._loop.time())
        if view.reason and not view.state.active:  # a failure, or a skipped file
            self.say(f"{view.name}: {view.reason}")

    def _on_update(self, update: Update) -> None:
        if isinstance(update, Notice):
            self.say(update.text)
        elif isinstance(update, Status) and update.state in _GIVE_UP_STATES:
            self._run.finish(EXIT_GAVE_UP, update.describe())


async def transfer(profile: Profile, store: ProfileStore, request: TransferRequest) -> int:
    """Run ``termkeep put`` or ``termkeep get``."""
    return await TransferRun(profile, store, request).run()
