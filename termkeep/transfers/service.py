"""The transfers of one session: a queue worked through one file at a time on a connection
the session's supervisor keeps up, each transfer surviving drops.

Owners hold it through ``session.transfers.TransferSession`` (the app's tab, ``termkeep
put``/``get``), which makes the connection too; the service itself::

    service = TransferService(supervisor, host="box", decide=ask_the_user)
    service.add_listener(show)           # every change: a TransferView
    ident = service.upload(Path("a.txt"), "/srv/www", Existing.KEEP_BOTH)  # None: decide()
    ident = service.download("/var/log/x", Path("."))
    service.cancel(ident); service.retry(ident); service.discard(ident)
    await service.wait_idle()            # nothing queued, running or waiting
    await service.close()

``supervisor`` keeps a bare connection of the tab's profile (a ``SessionCore`` with
``shell=False``: no PTY, no tmux), so bulk data never queues in front of the tab's keys.
When its link drops, the running transfer shows ``waiting for the link`` and, once the
supervisor has attached a new link, resumes from ``AckedRanges.acked`` on a new file session.
Views carry the server's text as it came (file names, reasons): show them with
``ssh_visible`` or ``safe_text``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

from termkeep.supervisor.phase import Phase
from termkeep.supervisor.state import Status
from termkeep.supervisor.updates import Update
from termkeep.transfers.jobs import (
    Attempt,
    Context,
    ExistsDecider,
    Job,
    SkippedError,
    TransferFailedError,
)
from termkeep.transfers.local import current_umask
from termkeep.transfers.model import Direction, Existing, TransferState, TransferView
from termkeep.transfers.pipeline import DEFAULT_REQUESTS
from termkeep.transport.link import Link, SideChannelError
from termkeep.transport.remote_files import NoSftpError, RemoteFileError, RemoteFiles

_log = logging.getLogger(__name__)

PUBLISH_INTERVAL = 0.1
"""Seconds between progress views of one transfer (state changes are published at once)."""
SAME_LINK_RETRIES = 3
"""File sessions that may fail in a row on a connection that stays up before giving up."""
CLEANUP_TIMEOUT = 5.0
UPLOAD_LANES = 4
"""SFTP sessions an upload writes over. The server grants each session's channel its own
window (OpenSSH: 2 MiB), which caps one session at 10 MB/s over a 200 ms round trip; four
take an upload to what TCP itself allows there. Downloads need one: termkeep grants its
channel a 16 MiB window."""

type TransferListener = Callable[[TransferView], None]


class LinkSource(Protocol):
    """What the service needs of a supervisor: its attached link and its updates."""

    @property
    def current_link(self) -> Link | None: ...

    def add_listener(self, listener: Callable[[Update], None], /) -> None: ...


class TransferService:
    """A queue of uploads and downloads over ``links``; see the module docstring."""

    def __init__(
        self,
        links: LinkSource,
        *,
        host: str,
        decide: ExistsDecider,
        requests: int = DEFAULT_REQUESTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._links = links
        self._context = Context(host, decide, current_umask(), requests)
        self._clock = clock
        self._jobs: dict[int, Job] = {}
        self._queue: deque[int] = deque()
        self._ids = itertools.count(1)
        self._listeners: list[TransferListener] = []
        self._changed = asyncio.Event()  # the link or the queue changed
        self._idle = asyncio.Event()
        self._idle.set()
        self._worker: asyncio.Task[None] | None = None
        self._running: tuple[Job, asyncio.Task[None]] | None = None
        self._files: tuple[Link, RemoteFiles] | None = None
        self._lanes: tuple[Link, list[RemoteFiles]] | None = None
        self._bad_link: Link | None = None
        self._published_at: dict[int, float] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._closed = False
        links.add_listener(self._on_update)

    # --- the owner's API ------------------------------------------------------------------

    def add_listener(self, listener: TransferListener) -> None:
        """Call ``listener`` with a view on every change (progress at most every 0.1 s)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: TransferListener) -> None:
        """Stop calling ``listener`` (a view that closed); one never added is ignored."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def upload(
        self, local: Path, remote_dir: str | None = None, existing: Existing | None = None
    ) -> int:
        """Queue ``local`` to go into ``remote_dir`` (None: the login directory); its id.
        ``existing`` settles a destination that exists (None: ask ``decide``)."""
        return self._queue_job(Direction.UPLOAD, str(local), remote_dir, existing)

    def download(self, remote: str, local_dir: Path, existing: Existing | None = None) -> int:
        """Queue the remote file ``remote`` (relative: to the login directory) to come into
        ``local_dir``; its id. ``existing`` as for ``upload``."""
        return self._queue_job(Direction.DOWNLOAD, remote, str(local_dir), existing)

    def transfers(self) -> list[TransferView]:
        """Every transfer so far, oldest first."""
        return [job.view() for job in self._jobs.values()]

    def view(self, ident: int) -> TransferView:
        return self._jobs[ident].view()

    def cancel(self, ident: int) -> None:
        """Stop a transfer that is still to finish and remove its partial files."""
        job = self._jobs[ident]
        if not job.state.active:
            return
        job.cancelled = True
        if self._running is not None and self._running[0] is job:
            self._running[1].cancel()  # the worker settles it
            return
        with contextlib.suppress(ValueError):
            self._queue.remove(ident)
        self._settle(job, TransferState.CANCELLED, "")
        self._spawn(self._discard_partials(job))

    def retry(self, ident: int) -> None:
        """Queue a failed or cancelled transfer again; it resumes where its partial file
        ends if that was kept."""
        job = self._jobs[ident]
        if not job.state.retryable:
            return
        job.cancelled = False
        job.mismatched = False
        job.reason = ""
        self._enqueue(job)

    def discard(self, ident: int) -> None:
        """Remove a finished transfer's partial files (a failed one keeps them for retry)."""
        job = self._jobs[ident]
        if not job.state.active:
            self._spawn(self._discard_partials(job))

    async def wait_idle(self) -> None:
        """Wait until nothing is queued, running or waiting."""
        await self._idle.wait()

    async def close(self) -> None:
        """Stop the worker; partial files stay (a local one is closed)."""
        self._closed = True
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        for job in self._jobs.values():
            if job.local_part is not None:
                job.local_part.close()
        self._forget_files()

    # --- the queue ------------------------------------------------------------------------

    def _queue_job(
        self,
        direction: Direction,
        source: str,
        destination: str | None,
        existing: Existing | None,
    ) -> int:
        job = Job(next(self._ids), direction, source, destination, existing=existing)
        self._jobs[job.id] = job
        self._enqueue(job)
        return job.id

    def _enqueue(self, job: Job) -> None:
        job.state = TransferState.QUEUED
        self._queue.append(job.id)
        self._idle.clear()
        self._publish(job, force=True)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._work())
        self._changed.set()

    async def _work(self) -> None:
        while self._queue:
            job = self._jobs[self._queue.popleft()]
            task = asyncio.ensure_future(self._finish(job))
            self._running = (job, task)
            try:
                await asyncio.gather(task, return_exceptions=True)
                if task.cancelled() and not job.cancelled:
                    raise asyncio.CancelledError  # the service is closing
            finally:
                self._running = None
        self._idle.set()

    async def _finish(self, job: Job) -> None:
        """Take ``job`` to its end, across as many links as it takes."""
        try:
            await self._attempts(job)
        except asyncio.CancelledError:
            if not job.cancelled:
                raise
            self._settle(job, TransferState.CANCELLED, "")
            await self._discard_partials(job)
        except SkippedError as skipped:
            self._settle(job, TransferState.DONE, f"skipped: {skipped}")
        except TransferFailedError as failed:
            self._settle(job, TransferState.FAILED, str(failed))
        except NoSftpError as error:
            self._settle(job, TransferState.FAILED, str(error))
        except Exception as error:
            # A bug must not leave a transfer "running" for ever, nor stop the queue.
            _log.exception("transfer %d failed unexpectedly", job.id)
            self._settle(job, TransferState.FAILED, f"unexpected error: {error}")
        else:
            self._settle(job, TransferState.DONE, "")

    async def _attempts(self, job: Job) -> None:
        failures_on_same_link = 0
        while True:
            link, files = await self._files_on_link(job)
            self._set_state(job, TransferState.RUNNING)
            job.meter.restart()
            attempt = Attempt(
                job,
                files,
                link,
                self._context,
                lambda done: self._moved(job, done),
                lanes=functools.partial(self._lanes_on, link),
            )
            try:
                await attempt.run()
            except SideChannelError as lost:
                _log.debug("transfer %d lost its link: %s", job.id, lost)
                self._forget_files()
                if link.connection_closed:
                    self._bad_link, failures_on_same_link = link, 0
                else:
                    failures_on_same_link += 1
                    if failures_on_same_link >= SAME_LINK_RETRIES:
                        raise TransferFailedError(
                            f"the file session keeps failing: {lost}"
                        ) from lost
                self._set_state(job, TransferState.WAITING)
            else:
                return

    async def _files_on_link(self, job: Job) -> tuple[Link, RemoteFiles]:
        """The current link's file session, waiting (as ``WAITING``) for a usable link."""
        refusals = 0
        while True:
            self._changed.clear()
            link = self._links.current_link
            if link is not None and link is not self._bad_link and not link.connection_closed:
                if self._files is not None and self._files[0] is link:
                    return self._files
                try:
                    files = await link.open_files()
                except SideChannelError as error:
                    if link.connection_closed:
                        self._bad_link = link
                        continue
                    refusals += 1  # the connection is fine: the server ends the session
                    if refusals >= SAME_LINK_RETRIES:
                        raise TransferFailedError(
                            f"the server's SFTP session ends as soon as it starts ({error})"
                        ) from error
                    continue
                self._forget_files()
                self._files = (link, files)
                return self._files
            if job.state is TransferState.RUNNING:
                self._set_state(job, TransferState.WAITING)
            await self._changed.wait()

    async def _lanes_on(self, link: Link) -> list[RemoteFiles]:
        """``UPLOAD_LANES - 1`` more file sessions on ``link``, opened once; fewer (or none)
        if the server will not open them (MaxSessions), which only costs speed."""
        if self._lanes is None or self._lanes[0] is not link:
            opened = await asyncio.gather(
                *(link.open_files() for _ in range(UPLOAD_LANES - 1)), return_exceptions=True
            )
            for failure in opened:
                if isinstance(failure, SideChannelError) and link.connection_closed:
                    raise failure
            sessions = [files for files in opened if not isinstance(files, BaseException)]
            self._forget_lanes()
            self._lanes = (link, sessions)
        return self._lanes[1]

    def _forget_files(self) -> None:
        if self._files is not None:
            with contextlib.suppress(Exception):
                self._files[1].close()
            self._files = None
        self._forget_lanes()

    def _forget_lanes(self) -> None:
        if self._lanes is not None:
            for files in self._lanes[1]:
                with contextlib.suppress(Exception):
                    files.close()
            self._lanes = None

    # --- partial files --------------------------------------------------------------------

    async def _discard_partials(self, job: Job) -> None:
        job.partial_kept = False
        if job.local_part is not None:
            job.local_part.discard()
            job.local_part = None
        part, job.remote_part = job.remote_part, None
        if part is None or self._files is None:
            return
        with contextlib.suppress(SideChannelError, RemoteFileError, TimeoutError):
            await asyncio.wait_for(self._files[1].remove(part), CLEANUP_TIMEOUT)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)

    # --- views ----------------------------------------------------------------------------

    def _on_update(self, update: Update) -> None:
        if not isinstance(update, Status):
            return
        self._changed.set()
        running = self._running[0] if self._running is not None else None
        if running is not None and update.state.lost and running.state is TransferState.RUNNING:
            self._set_state(running, TransferState.WAITING)
        elif update.state is Phase.ATTACHED and running is not None:
            self._publish(running, force=True)

    def _moved(self, job: Job, done: int) -> None:
        job.done = done
        job.meter.sample(self._clock(), done)
        if job.state is TransferState.WAITING:
            job.state = TransferState.RUNNING
            self._publish(job, force=True)
        else:
            # The last bytes are shown at once: the check that follows can take seconds.
            self._publish(job, force=done == job.size)

    def _set_state(self, job: Job, state: TransferState) -> None:
        if job.state is not state:
            job.state = state
            if state is TransferState.WAITING:
                job.meter.restart()
            self._publish(job, force=True)

    def _settle(self, job: Job, state: TransferState, reason: str) -> None:
        job.reason = reason
        if state is TransferState.FAILED and job.partial_path() is not None:
            job.partial_kept = True
        if state is TransferState.DONE:
            job.partial_kept = False
        if job.local_part is not None and state is not TransferState.FAILED:
            job.local_part.close()
        self._set_state(job, state)

    def _publish(self, job: Job, *, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._published_at.get(job.id, -1.0) < PUBLISH_INTERVAL:
            return
        self._published_at[job.id] = now
        view = job.view()
        for listener in list(self._listeners):  # a listener may remove itself
            listener(view)


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.debug("cleaning up a transfer failed", exc_info=task.exception())
