"""What a transfer is, as every viewer sees it: its state, progress, rate, time left and, when
it failed, why in plain words. Pure: no I/O."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from enum import StrEnum

from termkeep.terminal.durations import STATUS, duration_text


class Direction(StrEnum):
    UPLOAD = "upload"
    DOWNLOAD = "download"


class TransferState(StrEnum):
    """Where a transfer is. Only ``QUEUED``, ``RUNNING`` and ``WAITING`` change by themselves."""

    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting for the link"
    """The link dropped: the transfer resumes on the next one, where it stopped."""
    DONE = "done"
    FAILED = "failed"
    """``reason`` says why; ``retry`` resumes where it stopped if the partial file is kept."""
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        """Whether it is still to finish (queued, running or waiting)."""
        return self in _ACTIVE

    @property
    def retryable(self) -> bool:
        return self in {TransferState.FAILED, TransferState.CANCELLED}


_ACTIVE = frozenset({TransferState.QUEUED, TransferState.RUNNING, TransferState.WAITING})


class Check(StrEnum):
    """How a finished file was checked against its source."""

    SHA256 = "SHA-256 of both ends"
    SIZE = "size only"
    """The server has no ``sha256sum`` (or its path cannot go on a command line)."""


class Existing(StrEnum):
    """What to do when the destination already exists."""

    OVERWRITE = "overwrite"
    KEEP_BOTH = "keep both"
    """Write under ``name (1).ext`` (the first free number)."""
    SKIP = "skip"
    REFUSE = "refuse"
    """Fail the transfer with a line naming the file and the choices (headless default)."""


@dataclass(frozen=True, slots=True)
class ExistingFile:
    """The question asked when a destination exists: ``where`` is the host or "this
    computer", ``path`` the existing file."""

    direction: Direction
    where: str
    path: str
    size: int
    source_size: int


@dataclass(frozen=True, slots=True)
class TransferView:
    """One transfer as the transfers view, the status line and the headless commands show it.
    ``done`` counts the bytes acknowledged by the destination; ``rate`` is bytes a second
    (None until measured), ``eta`` seconds left (None while unknown)."""

    id: int
    direction: Direction
    source: str
    destination: str
    """The final path once known, else the destination directory."""
    state: TransferState
    size: int | None = None
    done: int = 0
    rate: float | None = None
    eta: float | None = None
    reason: str = ""
    """Why it failed, was skipped or what it is waiting for, in plain words."""
    check: Check | None = None
    resent: int = 0
    """Bytes sent more than once because the link dropped (at most one window a drop)."""
    partial: str | None = None
    """Where the partial file is kept after a failure (None: nothing left behind)."""
    mismatched: bool = False
    """It failed because the copy did not match the source (size or SHA-256)."""

    @property
    def name(self) -> str:
        """The file's name, as the user knows it (the source's last part)."""
        return posixpath.basename(self.source.rstrip("/")) or self.source

    @property
    def fraction(self) -> float | None:
        """Done, from 0 to 1 (None while the size is unknown)."""
        if self.size is None:
            return None
        return 1.0 if self.size == 0 else min(1.0, self.done / self.size)

    def summary(self) -> str:
        """One line: ``report.pdf 42% 12.3 MB/s 8 s left`` or ``report.pdf: failed: why``."""
        if self.state is TransferState.RUNNING:
            parts = [self.name]
            if (fraction := self.fraction) is not None:
                parts.append(f"{fraction:.0%}")
            if self.rate is not None:
                parts.append(rate_text(self.rate))
            if self.eta is not None:
                parts.append(f"{duration_text(self.eta, STATUS)} left")
            return " ".join(parts)
        if self.reason:
            return f"{self.name}: {self.state}: {self.reason}"
        return f"{self.name}: {self.state}"


def size_text(size: float) -> str:
    """``512 B``, ``1.5 kB``, ``12.3 MB``, ``4.0 GB`` (powers of 1000, as scp shows)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size:.0f} B"


def rate_text(rate: float) -> str:
    return f"{size_text(rate)}/s"


class RateMeter:
    """Bytes a second, smoothed over about ``window`` seconds so the figure reads steadily;
    restarted after a pause (a drop must not drag the figure down for long)."""

    def __init__(self, window: float = 3.0) -> None:
        self._window = window
        self._last: tuple[float, int] | None = None
        self.rate: float | None = None

    def restart(self) -> None:
        """Forget the last sample (the transfer paused): the next one starts over."""
        self._last = None

    def sample(self, now: float, done: int) -> None:
        if self._last is None:
            self._last = (now, done)
            return
        then, before = self._last
        elapsed = now - then
        if elapsed <= 0:
            return
        instant = max(0, done - before) / elapsed
        weight = min(1.0, elapsed / self._window)
        self.rate = instant if self.rate is None else self.rate + weight * (instant - self.rate)
        self._last = (now, done)

    def eta(self, remaining: int) -> float | None:
        if self.rate is None or self.rate <= 0:
            return None
        return remaining / self.rate
