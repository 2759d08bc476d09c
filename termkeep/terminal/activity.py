"""What a background tab has been doing, for its label: new output, a bell, a run that ended.

``Activity`` is plain bookkeeping over times the caller passes in (no clock, no timer): the
tab tells it of output and bells while it is in the background, asks it when to look again
for the end of a run (``done_check_at``), and clears it when the tab is shown. A tab that
printed for at least ``DoneTimes.busy`` seconds and then stayed quiet for ``DoneTimes.quiet``
is marked "done": a build or a test run that finished while the user looked elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from termkeep.terminal.emulator import Snapshot


class Mark(StrEnum):
    """One thing a tab label can say about a background tab."""

    ACTIVITY = "activity"
    """The pane printed something."""
    BELL = "bell"
    """A program rang the bell."""
    DONE = "done"
    """Output went on for a while, then stopped."""


@dataclass(frozen=True, slots=True)
class DoneTimes:
    """How long output must run, then pause, for a tab to count as done."""

    busy: float = 10.0
    """Seconds from the first to the last output of a run."""
    quiet: float = 5.0
    """Seconds of silence after the last output that end the run."""


class Activity:
    """The marks of one tab, and the run of output it is in (if any)."""

    def __init__(self, times: DoneTimes | None = None) -> None:
        self.times = times or DoneTimes()
        self.marks: frozenset[Mark] = frozenset()
        self._run_start: float | None = None
        self._last_output: float | None = None

    @property
    def marked(self) -> bool:
        """Whether the label shows anything."""
        return bool(self.marks)

    def output(self, now: float) -> bool:
        """The pane printed at ``now``; True when the marks changed."""
        last = self._last_output
        if last is None or now - last >= self.times.quiet:
            self._run_start = now  # a pause long enough to end a run starts a new one
        self._last_output = now
        return self._mark(Mark.ACTIVITY)

    def bell(self) -> bool:
        """A bell rang; True when the marks changed."""
        return self._mark(Mark.BELL)

    def done_check_at(self) -> float | None:
        """When the run in progress ends if nothing more is printed; None outside a run."""
        if self._last_output is None:
            return None
        return self._last_output + self.times.quiet

    def check_done(self, now: float) -> bool:
        """Look at ``now`` whether the run ended; True when it ended long enough to count
        as done (the tab is then marked, and a notification is due even if an earlier run
        marked it already). A run that ended short is simply forgotten."""
        due = self.done_check_at()
        if due is None or now < due:
            return False
        start = self._run_start if self._run_start is not None else due
        long_enough = due - self.times.quiet - start >= self.times.busy
        self._run_start = self._last_output = None
        if long_enough:
            self._mark(Mark.DONE)
        return long_enough

    def clear(self) -> bool:
        """The tab is shown: its marks and any run in progress are forgotten (the user now
        sees the output); True when there were marks."""
        had = self.marked
        self.marks = frozenset()
        self._run_start = self._last_output = None
        return had

    def _mark(self, mark: Mark) -> bool:
        if mark in self.marks:
            return False
        self.marks = self.marks | {mark}
        return True


def pane_output(previous: Snapshot | None, snapshot: Snapshot | None, status_rows: int) -> bool:
    """Whether ``snapshot`` shows output ``previous`` did not, outside the bottom
    ``status_rows``. A row the engine did not touch is the same object in both (even when a
    scroll moved it), and a row written again with the same text (a redraw) is no output
    either; nor is a palette change, a resize or a first frame."""
    if previous is None or snapshot is None:
        return False
    if (previous.columns, len(previous.rows)) != (snapshot.columns, len(snapshot.rows)):
        return False
    end = len(snapshot.rows) - status_rows
    pairs = zip(previous.rows[:end], snapshot.rows[:end], strict=True)
    return any(old is not new and old.graphemes != new.graphemes for old, new in pairs)
