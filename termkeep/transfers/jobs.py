"""One transfer's life: the mutable record behind a ``TransferView`` and one attempt at
finishing it on a given link. An attempt that loses its link raises ``SideChannelError``
with everything needed to resume kept here (the acknowledged prefix, the partial files, the
destination and the decision about an existing file); any other failure raises
``TransferFailedError`` with the reason in plain words."""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from termkeep.transfers.checks import HASH_SEGMENT, FollowingDigest, remote_sha256
from termkeep.transfers.local import (
    LocalFileError,
    LocalPart,
    LocalSource,
    PrefixDigest,
    local_problem,
    sha256_of,
    sha256_of_fd,
)
from termkeep.transfers.model import (
    Check,
    Direction,
    Existing,
    ExistingFile,
    RateMeter,
    TransferState,
    TransferView,
)
from termkeep.transfers.names import UnsafeNameError, numbered, part_name, safe_local_name
from termkeep.transfers.pipeline import (
    AckedRanges,
    Plan,
    Resends,
    SourceShrankError,
    download_io,
    pump,
    upload_io,
)
from termkeep.transport.link import SideChannelError, SideChannels
from termkeep.transport.remote_files import (
    EntryKind,
    FileProblem,
    RemoteFile,
    RemoteFileError,
    RemoteFiles,
)

KEEP_BOTH_LIMIT = 1000
"""``name (1).ext`` … ``name (999).ext``; past that the transfer fails rather than search on."""

type ExistsDecider = Callable[[ExistingFile], Awaitable[Existing]]
type ProgressSink = Callable[[int], None]


class TransferFailedError(Exception):
    """The transfer cannot finish; the message is the reason in plain words."""


class SkippedError(Exception):
    """The destination exists and the decision was to skip it."""


@dataclass(frozen=True, slots=True)
class Context:
    """What an attempt needs besides the link: where the other end is (for words), who
    decides about existing files, the umask for downloaded files, requests in flight."""

    host: str
    decide: ExistsDecider
    umask: int
    requests: int


@dataclass(eq=False)
class Job:
    """One transfer, mutable; ``view()`` is what listeners see."""

    id: int
    direction: Direction
    source: str
    destination_dir: str | None
    """Upload: the remote directory (None: the login directory). Download: the local one."""
    existing: Existing | None = None
    """What to do if the destination exists; None asks the service's ``decide``."""
    state: TransferState = TransferState.QUEUED
    reason: str = ""
    size: int | None = None
    done: int = 0
    check: Check | None = None
    final: str | None = None
    replace: bool = False
    fresh: bool = True
    """The next attempt starts the partial file over (first attempt, or after a mismatch)."""
    ranges: AckedRanges = field(default_factory=lambda: AckedRanges(0))
    resends: Resends = field(default_factory=Resends)
    meter: RateMeter = field(default_factory=RateMeter)
    source_digest: asyncio.Future[str] | None = None
    """An upload's local SHA-256, computed once beside the transfer."""
    part_digest: PrefixDigest = field(default_factory=PrefixDigest)
    """A download's local SHA-256 so far, of the bytes below its acknowledged offset."""
    local_part: LocalPart | None = None
    remote_part: str | None = None
    partial_kept: bool = False
    mismatched: bool = False
    cancelled: bool = False

    def view(self) -> TransferView:
        running = self.state is TransferState.RUNNING
        remaining = None if self.size is None else max(0, self.size - self.done)
        return TransferView(
            id=self.id,
            direction=self.direction,
            source=self.source,
            destination=self.final or self.destination_dir or "",
            state=self.state,
            size=self.size,
            done=self.done,
            rate=self.meter.rate if running else None,
            eta=self.meter.eta(remaining) if running and remaining is not None else None,
            reason=self.reason,
            check=self.check,
            resent=self.resends.resent,
            partial=self.partial_path() if self.partial_kept else None,
            mismatched=self.mismatched,
        )

    def partial_path(self) -> str | None:
        if self.local_part is not None:
            return str(self.local_part.path)
        return self.remote_part

    def start_over(self) -> None:
        """The partial files' content is not to be trusted (a mismatch): write them anew."""
        self.fresh = True
        self.ranges = AckedRanges(0)
        self.done = 0
        self.source_digest = None
        self.part_digest = PrefixDigest()


def remote_words(error: RemoteFileError, host: str) -> str:
    """A refused remote operation as one line."""
    match error.problem:
        case FileProblem.MISSING:
            return f"no such file or directory on {host}: {error.path}"
        case FileProblem.PERMISSION:
            return f"permission denied on {host}: {error.path}"
        case FileProblem.NO_SPACE:
            return f"no space left on {host} for {error.path}"
        case _:
            said = f" (it said: {error.server_words})" if error.server_words else ""
            return f"{host} could not do it for {error.path}: {error.problem}{said}"


async def _closing(remote: RemoteFile, failing: bool) -> None:
    """Close a remote handle; on the way out of a failure, a close that fails too (the link
    is gone) must not hide the first error."""
    if not failing:
        await remote.close()
        return
    with contextlib.suppress(SideChannelError, RemoteFileError, OSError):
        await asyncio.wait_for(remote.close(), 5.0)


type Lanes = Callable[[], Awaitable[Sequence[RemoteFiles]]]
"""The extra file sessions an upload stripes its writes over (see ``UPLOAD_LANES``)."""


class Attempt:
    """One try at finishing ``job`` over ``files`` and ``side`` (the same link's); an upload
    also writes over the sessions ``lanes`` gives."""

    def __init__(
        self,
        job: Job,
        files: RemoteFiles,
        side: SideChannels,
        context: Context,
        progress: ProgressSink,
        *,
        lanes: Lanes | None = None,
    ) -> None:
        self.job = job
        self.files = files
        self.side = side
        self.context = context
        self.progress = progress
        self.lanes = lanes

    async def run(self) -> None:
        """Finish the job or raise (``SideChannelError``: resume on the next link;
        ``TransferFailedError``/``SkippedError``: it ends here)."""
        try:
            if self.job.direction is Direction.UPLOAD:
                await self._upload()
            else:
                await self._download()
        except RemoteFileError as error:
            raise TransferFailedError(await self._remote_failure(error)) from error
        except LocalFileError as error:
            raise TransferFailedError(str(error)) from error
        except SourceShrankError as error:
            raise TransferFailedError("the file got shorter during the transfer") from error

    async def _remote_failure(self, error: RemoteFileError) -> str:
        """SFTP 3 says "Failure" for a full disk: ask the server for its free space."""
        host = self.context.host
        if error.problem is FileProblem.FAILED and self.job.direction is Direction.UPLOAD:
            directory = posixpath.dirname(error.path) or "."
            with contextlib.suppress(SideChannelError, RemoteFileError):
                free = await self.files.free_space(directory)
                if free is not None and free < self.files.block_size * 2:
                    return f"no space left on {host} in {directory}"
        return remote_words(error, host)

    # --- upload ---------------------------------------------------------------------------

    async def _upload(self) -> None:
        job = self.job
        source = LocalSource.open(Path(job.source))
        try:
            if job.size is not None and source.size != job.size:
                raise TransferFailedError("the local file changed size during the transfer")
            job.size = source.size
            if job.final is None:
                await self._choose_remote_destination()
            assert job.final is not None
            assert job.remote_part is not None
            following = await FollowingDigest.open(self.side, job.remote_part)
            try:
                source_digest = await self._send(source, job.remote_part, following)
                await self._check_upload(source_digest, job.remote_part, following)
            finally:
                if following is not None:
                    following.close()
            await self.files.chmod(job.remote_part, source.mode)
            await self._rename_remote(job.remote_part, job.final)
        finally:
            source.close()

    async def _choose_remote_destination(self) -> None:
        job = self.job
        directory = await self.files.realpath(job.destination_dir or ".")
        entry = await self.files.stat(directory)
        if entry.kind is not EntryKind.DIRECTORY:
            raise TransferFailedError(f"{directory} on {self.context.host} is not a directory")
        name = Path(job.source).name
        job.final, job.replace = await self._decide(
            posixpath.join(directory, name), self._remote_size, Direction.UPLOAD
        )
        job.remote_part = part_name(job.final)

    async def _remote_size(self, path: str) -> int | None:
        try:
            return (await self.files.lstat(path)).size
        except RemoteFileError as error:
            if error.problem is FileProblem.MISSING:
                return None
            raise

    async def _send(
        self, source: LocalSource, part: str, following: FollowingDigest | None
    ) -> asyncio.Future[str]:
        """Send what the server has not acknowledged yet; the source's SHA-256, computed
        beside the transfer (hashlib releases the GIL) from the path, as the descriptor
        closes with this attempt. ``following`` hashes the server's copy meanwhile."""
        job = self.job
        remote = await self.files.open_write(part, truncate=job.fresh)
        if job.fresh:
            job.start_over()
            job.fresh = False
        if job.source_digest is None:
            job.source_digest = asyncio.ensure_future(
                asyncio.to_thread(sha256_of, Path(job.source))
            )
            job.source_digest.add_done_callback(_retrieved)
        job.partial_kept = False
        handles = [remote]
        failing = True
        try:
            handles += await self._lane_handles(part)
            assert job.size is not None
            plan = Plan(job.ranges.acked, job.size, self.files.block_size, self.context.requests)
            io = upload_io(source.fd, handles, plan.block)
            await pump(plan, io, job.ranges, job.resends, self._following(following))
            failing = False
        finally:
            for handle in handles:
                await _closing(handle, failing)
        return job.source_digest

    def _following(self, following: FollowingDigest | None) -> ProgressSink:
        """The progress sink, also telling ``following`` what is final on the server."""
        if following is None:
            return self.progress

        def moved(done: int) -> None:
            self.progress(done)
            following.extend(self.job.ranges.acked)

        return moved

    async def _lane_handles(self, part: str) -> list[RemoteFile]:
        """The partial file opened on each extra session (never emptied: the first handle
        did that)."""
        if self.lanes is None:
            return []
        sessions = await self.lanes()
        opened = await asyncio.gather(
            *(lane.open_write(part, truncate=False) for lane in sessions), return_exceptions=True
        )
        handles = [handle for handle in opened if not isinstance(handle, BaseException)]
        for failure in opened:
            if isinstance(failure, BaseException):
                for handle in handles:
                    await _closing(handle, failing=True)
                raise failure
        return handles

    async def _check_upload(
        self, source_digest: asyncio.Future[str], part: str, following: FollowingDigest | None
    ) -> None:
        job = self.job
        assert job.size is not None
        written = (await self.files.stat(part)).size
        if written != job.size:
            self._mismatch(f"the copy on {self.context.host} has {written} bytes, not {job.size}")
        remote = await following.finish(job.size) if following is not None else None
        ours = await source_digest
        if remote == ours:
            job.check = Check.SHA256
        else:
            # None: no digest followed the transfer. A different one is only believed once
            # the server has hashed the whole file as it is now.
            remote = await self._remote_digest(part, job.size)
        if remote is not None and remote != ours:
            self._mismatch(f"the copy on {self.context.host} does not match (SHA-256 differs)")

    async def _remote_digest(self, path: str, size: int) -> str | None:
        try:
            found = await remote_sha256(self.side, path, size)
        except SideChannelError:
            if self.side.connection_closed:
                raise  # the link went: check again on the next one
            self.job.check = Check.SIZE  # the command, not the link, ran out of time
            return None
        self.job.check = Check.SHA256 if found.digest is not None else Check.SIZE
        return found.digest

    def _mismatch(self, what: str) -> None:
        job = self.job
        job.start_over()
        job.partial_kept = True
        job.mismatched = True
        raise TransferFailedError(f"{what}; the partial file is kept as {job.partial_path()}")

    async def _rename_remote(self, part: str, final: str) -> None:
        try:
            await self.files.rename(part, final, replace=self.job.replace)
        except RemoteFileError as error:
            if not self.job.replace and await self._remote_size(final) is not None:
                self.job.partial_kept = True
                raise TransferFailedError(
                    f"{final} appeared on {self.context.host} meanwhile; it was left alone"
                ) from error
            raise

    # --- download -------------------------------------------------------------------------

    async def _download(self) -> None:
        job = self.job
        path = job.source
        entry = await self.files.stat(path)
        if entry.kind is not EntryKind.FILE:
            what = "a directory" if entry.kind is EntryKind.DIRECTORY else "not a regular file"
            raise TransferFailedError(f"{path} on {self.context.host} is {what}")
        if job.size is not None and entry.size != job.size:
            raise TransferFailedError(f"{path} changed on {self.context.host} meanwhile")
        job.size = entry.size
        if job.local_part is None:
            job.local_part = LocalPart(Path(await self._choose_local_destination(path)))
        part = job.local_part
        if part.fd is None:
            part.open(fresh=job.fresh)
        # The server hashes its file while it sends it: a side command beside the SFTP
        # session, so its time hides behind the transfer's.
        remote_digest = asyncio.ensure_future(self._remote_digest(path, entry.size))
        try:
            await self._receive(path, part)
            await self._check_download(path, part, remote_digest)
        finally:
            if not remote_digest.done():
                remote_digest.cancel()
            await asyncio.gather(remote_digest, return_exceptions=True)
        part.finish(self.context.umask, replace=job.replace)
        job.local_part = None

    async def _choose_local_destination(self, path: str) -> str:
        job = self.job
        remote_name = posixpath.basename(path.rstrip("/"))
        if not remote_name:
            remote_name = posixpath.basename(await self.files.realpath(path))
        try:
            name = safe_local_name(remote_name)
        except UnsafeNameError as error:
            raise TransferFailedError(f"{path}: {error}") from error
        directory = Path(job.destination_dir or ".")
        final, job.replace = await self._decide(
            str(directory / name), _local_size, Direction.DOWNLOAD
        )
        job.final = final
        return final

    async def _receive(self, path: str, part: LocalPart) -> None:
        job = self.job
        assert part.fd is not None
        assert job.size is not None
        if job.fresh:
            job.start_over()
            job.fresh = False
        job.partial_kept = False
        remote = await self.files.open_read(path)
        failing = True
        try:
            plan = Plan(job.ranges.acked, job.size, self.files.block_size, self.context.requests)
            hashing = _HashingBehind(job, part.fd, self.progress)
            try:
                await pump(
                    plan, download_io(remote, part.fd), job.ranges, job.resends, hashing.moved
                )
            except OSError as error:
                raise local_problem(error, part.path) from error
            finally:
                await hashing.settle()
            failing = False
        finally:
            await _closing(remote, failing)

    async def _check_download(
        self, path: str, part: LocalPart, remote_digest: asyncio.Future[str | None]
    ) -> None:
        job = self.job
        assert job.size is not None
        assert part.fd is not None
        now = (await self.files.stat(path)).size
        if now != job.size:
            self._mismatch(f"{path} changed on {self.context.host} during the transfer")
        if part.size() != job.size:
            self._mismatch(f"the copy here has {part.size()} bytes, not {job.size}")
        ours = await self._local_digest(part.fd, job.size)
        remote = await remote_digest
        if remote is not None and remote != ours:
            self._mismatch(f"the copy here does not match {path} (SHA-256 differs)")

    async def _local_digest(self, fd: int, size: int) -> str:
        """The partial file's SHA-256: what was hashed behind the transfer, and the rest."""
        digest = self.job.part_digest
        try:
            await asyncio.to_thread(digest.extend, fd, size)
        except (OSError, EOFError):
            return await asyncio.to_thread(sha256_of_fd, fd)  # the size check said why
        return digest.hexdigest()

    # --- an existing destination ----------------------------------------------------------

    async def _decide(
        self,
        path: str,
        size_of: Callable[[str], Awaitable[int | None]],
        direction: Direction,
    ) -> tuple[str, bool]:
        """The final path and whether it may replace a file; raises ``SkippedError`` or
        ``TransferFailedError`` (refused)."""
        existing = await size_of(path)
        if existing is None:
            return path, False
        where = self.context.host if direction is Direction.UPLOAD else "this computer"
        assert self.job.size is not None
        choice = self.job.existing or await self.context.decide(
            ExistingFile(direction, where, path, existing, self.job.size)
        )
        match choice:
            case Existing.OVERWRITE:
                return path, True
            case Existing.SKIP:
                raise SkippedError(f"{path} already exists on {where}")
            case Existing.REFUSE:
                raise TransferFailedError(f"{path} already exists on {where}; not overwritten")
            case Existing.KEEP_BOTH:
                directory, name = posixpath.split(path)
                for number in range(1, KEEP_BOTH_LIMIT):
                    candidate = posixpath.join(directory, numbered(name, number))
                    if await size_of(candidate) is None:
                        return candidate, False
                raise TransferFailedError(f"no free name like {path} on {where}")


class _HashingBehind:
    """The progress sink of a download that also hashes its partial file behind the
    acknowledged offset, a segment at a time in a worker thread, so the check after the last
    byte has little left to read (hashlib releases the GIL)."""

    def __init__(self, job: Job, fd: int, progress: ProgressSink) -> None:
        self._job = job
        self._fd = fd
        self._progress = progress
        self._hashing: asyncio.Future[None] | None = None

    def moved(self, done: int) -> None:
        self._progress(done)
        if self._hashing is not None and not self._hashing.done():
            return
        digest, acked = self._job.part_digest, self._job.ranges.acked
        if acked - digest.offset >= HASH_SEGMENT:
            upto = digest.offset + HASH_SEGMENT
            self._hashing = asyncio.ensure_future(asyncio.to_thread(digest.extend, self._fd, upto))

    async def settle(self) -> None:
        """Wait for the segment being hashed: the thread must be done with the descriptor
        before it can close. A wait cut short leaves that thread with a digest of its own."""
        if self._hashing is None:
            return
        try:
            await asyncio.gather(self._hashing, return_exceptions=True)
        finally:
            if self._hashing.cancelled():
                self._job.part_digest = PrefixDigest()


def _retrieved(future: asyncio.Future[str]) -> None:
    """A digest nobody awaits any more (the transfer failed first) raises nowhere."""
    if not future.cancelled():
        future.exception()


async def _local_size(path: str) -> int | None:
    try:
        return os.lstat(path).st_size
    except FileNotFoundError:
        return None
    except OSError as error:
        raise local_problem(error, path) from error
