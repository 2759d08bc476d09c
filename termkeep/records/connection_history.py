"""Connection history: every drop of every session, kept as JSON lines in the state dir.

One line per happening, written as it happens, so a crash loses nothing already seen:

- ``open``: a session (tab or ``termkeep attach``) started;
- ``drop``: an outage ended, recovered or not: when it was noticed (``start``), when it ended
  (``end``), its ``cause``, ``recovery`` in seconds (null when it never recovered), whether the
  same tmux session came back (``same_tmux``, null without tmux or without a recovery), and
  the bytes typed during it that were delivered or discarded;
- ``away``: after a drop recovered, what the pane did meanwhile (``text``: the "while you
  were away" notice: how long, how many lines, the command in front), for the session's
  latest drop;
- ``close``: the session ended, with its totals (bytes in and out, held keys, RTT).

Every line carries ``session`` (a random id), ``profile``, ``host`` and ``time`` (Unix
seconds). Only counts and termkeep's own words are written, never what was typed or received.
Causes are exception and server text: sanitised and cut at ``MAX_TEXT``.

The file is 0600 in a 0700 directory, and bounded: past ``MAX_HISTORY_BYTES`` it is rotated
to ``<name>.1`` (the older part before it is dropped), so it never holds more than twice that.
"""

from __future__ import annotations

import json
import math
import os
import stat
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from termkeep.platform.files import open_private_append, rotate_file
from termkeep.terminal.display_text import safe_text
from termkeep.terminal.durations import RECORD, duration_text

MAX_HISTORY_BYTES = 512 * 1024
"""Size at which the connection history file is rotated (one older part is kept)."""
KEEP_ROTATED = 1
MAX_TEXT = 200
"""Characters of a cause, profile or host name kept in a record."""
RECORD_VERSION = 1
RTT_BARS = 256
"""Bars an RTT timeline keeps at least (at most twice as many): the sparkline's resolution."""


def clean_text(text: str) -> str:
    """Outside text (causes, names) as it may be stored and printed: one short line."""
    return safe_text(text, limit=MAX_TEXT)


@dataclass(frozen=True, slots=True)
class Drop:
    """One outage of one session."""

    session: str
    profile: str
    host: str
    start: float
    """When termkeep noticed it (Unix seconds)."""
    end: float
    """When it reattached, or when the session gave up or closed during it."""
    cause: str
    recovery: float | None
    """Seconds from the notice to the reattach; None when it never recovered."""
    same_tmux: bool | None
    """Whether the same tmux session came back; None without tmux or without a recovery."""
    held_delivered: int = 0
    """Bytes typed during the outage and delivered after it."""
    held_discarded: int = 0
    """Bytes typed during the outage and thrown away (a new tmux session, or too many)."""
    outcome: str = ""
    """How it ended when it did not recover: ``failed``, ``closed``, ``ended``..."""
    away: str = ""
    """What the pane did meanwhile, as the "while you were away" notice said it."""

    def record(self) -> dict[str, Any]:
        """The JSON line for this drop."""
        return {
            "v": RECORD_VERSION,
            "kind": "drop",
            "session": self.session,
            "profile": self.profile,
            "host": self.host,
            "time": self.end,
            "start": self.start,
            "end": self.end,
            "cause": self.cause,
            "recovery": self.recovery,
            "same_tmux": self.same_tmux,
            "held_delivered": self.held_delivered,
            "held_discarded": self.held_discarded,
            "outcome": self.outcome,
        }


@dataclass(frozen=True, slots=True)
class RttStats:
    """Round trips of a session: how many were measured, the last, the lowest, the highest."""

    count: int
    last: float
    low: float
    high: float


class RttTimeline:
    """Every round trip of a session, in bounded memory, for a sparkline over the whole
    session: each bar is the highest of ``stride`` consecutive samples (the spikes are what a
    flaky link shows); when ``2 * bars`` bars are full, neighbours merge and the stride
    doubles."""

    def __init__(self, bars: int = RTT_BARS) -> None:
        self._bars = bars
        self._filled: list[float] = []
        self._stride = 1
        self._pending: float | None = None
        self._pending_count = 0
        self.stats: RttStats | None = None

    def add(self, rtt: float) -> None:
        """One more sample, in seconds."""
        stats = self.stats
        self.stats = (
            RttStats(1, rtt, rtt, rtt)
            if stats is None
            else RttStats(stats.count + 1, rtt, min(stats.low, rtt), max(stats.high, rtt))
        )
        self._pending = rtt if self._pending is None else max(self._pending, rtt)
        self._pending_count += 1
        if self._pending_count < self._stride:
            return
        self._filled.append(self._pending)
        self._pending, self._pending_count = None, 0
        if len(self._filled) >= 2 * self._bars:
            pairs = zip(self._filled[::2], self._filled[1::2], strict=True)
            self._filled = [max(pair) for pair in pairs]
            self._stride *= 2

    def bars(self) -> tuple[float, ...]:
        """The timeline, oldest first (the newest bar may cover fewer samples)."""
        partial = () if self._pending is None else (self._pending,)
        return (*self._filled, *partial)


@dataclass(frozen=True, slots=True)
class ConnectionHistory:
    """What a tab's connection history view shows: one session's drops and counters so far."""

    profile: str
    host: str
    started: float
    """When the session started (Unix seconds)."""
    now: float
    drops: tuple[Drop, ...] = ()
    ongoing: Drop | None = None
    """The outage going on right now (its ``end`` is ``now``), if any."""
    rtt: tuple[float, ...] = ()
    """Round trips over the whole session in seconds, oldest first (``RttTimeline.bars``)."""
    rtt_stats: RttStats | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    held_delivered: int = 0
    held_discarded: int = 0


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    """The numbers ``termkeep history`` gives per profile."""

    profile: str
    sessions: int
    observed: float
    """Seconds covered by the records of its sessions."""
    drops: int
    not_recovered: int
    median_recovery: float | None
    worst_recovery: float | None

    @property
    def drops_per_hour(self) -> float | None:
        """Drops per hour of observed time; None before any time was observed."""
        if self.observed <= 0:
            return None
        return self.drops / (self.observed / 3600)


@dataclass(slots=True)
class HistoryRead:
    """What a history file held: the sessions' records, and the lines that were not."""

    drops: list[Drop] = field(default_factory=list)
    spans: dict[str, tuple[str, float, float]] = field(default_factory=dict)
    """Session id -> (profile, first time, last time) over all its records."""
    bad_lines: list[tuple[Path, int]] = field(default_factory=list)
    """(file, line number) of each line that is not a history record."""


class HistoryJournal:
    """Appends records to the connection history file, rotating it at ``max_bytes``. Each record is
    one write of one line to a file opened for appending, so sessions in several processes
    can share the file."""

    def __init__(self, path: Path, max_bytes: int = MAX_HISTORY_BYTES) -> None:
        self.path = path
        self._max_bytes = max_bytes

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record (OSError when the file cannot be written)."""
        line = (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        try:
            status = self.path.stat()
        except FileNotFoundError:
            status = None
        # Only a regular file is rotated or checked: a directory or device in its place is
        # never moved, the append below fails and says why.
        regular = status is not None and stat.S_ISREG(status.st_mode)
        size = status.st_size if status is not None and regular else 0
        if size and size + len(line) > self._max_bytes:
            rotate_file(self.path, KEEP_ROTATED)
        elif size and not self._ends_with_newline():
            line = b"\n" + line  # after a torn write (a crash mid-line), start a new line
        with open_private_append(self.path) as file:
            file.write(line)

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as file:
            file.seek(-1, os.SEEK_END)
            return file.read(1) == b"\n"


def event_record(kind: str, session: str, profile: str, host: str, time: float) -> dict[str, Any]:
    """The common fields of every record (an ``open`` record is just these)."""
    return {
        "v": RECORD_VERSION,
        "kind": kind,
        "session": session,
        "profile": profile,
        "host": host,
        "time": time,
    }


def history_files(path: Path) -> list[Path]:
    """The connection history file's parts, oldest first."""
    rotated = [path.with_name(f"{path.name}.{index}") for index in range(KEEP_ROTATED, 0, -1)]
    return [*rotated, path]


def read_history(path: Path) -> HistoryRead:
    """Every record in the connection history file and its rotated part. A line that is not a record
    (a torn write, an edit, garbage) is listed in ``bad_lines`` and skipped."""
    result = HistoryRead()
    for part in history_files(path):
        try:
            data = part.read_bytes()
        except FileNotFoundError:
            continue
        for number, raw in enumerate(data.splitlines(), start=1):
            if raw.strip() and not _take(raw, result):
                result.bad_lines.append((part, number))
    result.drops.sort(key=lambda drop: drop.start)
    return result


def _take(raw: bytes, result: HistoryRead) -> bool:
    """Add the record on line ``raw`` to ``result``; False when it is not one."""
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        return False
    if not isinstance(record, dict):
        return False
    try:
        session, profile = _text(record, "session"), _text(record, "profile")
        host, time = _text(record, "host"), _number(record, "time")
        times = [time]
        if record.get("kind") == "drop":
            drop = _drop_of(record, session, profile, host)
            result.drops.append(drop)
            times += [drop.start, drop.end]
        elif record.get("kind") == "away":
            _note_away(result, session, _text(record, "text"))
        elif record.get("kind") not in {"open", "close"}:
            return False
    except (KeyError, TypeError):
        return False
    known = result.spans.get(session)
    first, last = min(times), max(times)
    if known is not None:
        first, last = min(first, known[1]), max(last, known[2])
    result.spans[session] = (profile, first, last)
    return True


def _note_away(result: HistoryRead, session: str, text: str) -> None:
    """The away line goes with the session's latest drop (the one it followed)."""
    for index in range(len(result.drops) - 1, -1, -1):
        if result.drops[index].session == session:
            result.drops[index] = replace(result.drops[index], away=text)
            return


def _drop_of(record: Mapping[str, Any], session: str, profile: str, host: str) -> Drop:
    recovery = record.get("recovery")
    same_tmux = record.get("same_tmux")
    if same_tmux is not None and not isinstance(same_tmux, bool):
        raise TypeError("same_tmux")
    return Drop(
        session=session,
        profile=profile,
        host=host,
        start=_number(record, "start"),
        end=_number(record, "end"),
        cause=_text(record, "cause"),
        recovery=None if recovery is None else _number(record, "recovery"),
        same_tmux=same_tmux,
        held_delivered=int(_number(record, "held_delivered")),
        held_discarded=int(_number(record, "held_discarded")),
        outcome=clean_text(str(record.get("outcome") or "")),
    )


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record[key]
    if not isinstance(value, str):
        raise TypeError(key)
    return clean_text(value)


def _number(record: Mapping[str, Any], key: str) -> float:
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(key)
    return float(value)


def summarize(read: HistoryRead, profile: str | None = None) -> list[ProfileSummary]:
    """Per profile (only ``profile`` if given): sessions, time observed, drops per hour,
    median and worst recovery."""
    observed: dict[str, float] = defaultdict(float)
    sessions: dict[str, int] = defaultdict(int)
    for name, first, last in read.spans.values():
        observed[name] += last - first
        sessions[name] += 1
    drops_of: dict[str, list[Drop]] = defaultdict(list)
    for drop in read.drops:
        drops_of[drop.profile].append(drop)
    names = sorted(set(sessions) if profile is None else {profile} & set(sessions))
    return [summary_of(name, sessions[name], observed[name], drops_of[name]) for name in names]


def summary_of(
    profile: str, sessions: int, observed: float, drops: Sequence[Drop]
) -> ProfileSummary:
    """The summary of one profile's ``drops`` over ``observed`` seconds."""
    recoveries = [drop.recovery for drop in drops if drop.recovery is not None]
    return ProfileSummary(
        profile=profile,
        sessions=sessions,
        observed=observed,
        drops=len(drops),
        not_recovered=len(drops) - len(recoveries),
        median_recovery=statistics.median(recoveries) if recoveries else None,
        worst_recovery=max(recoveries) if recoveries else None,
    )


# --- words and tables, shared by `termkeep history` and the tab's view ------------------------


def bytes_text(count: int) -> str:
    """``512 B``, ``12.3 KB``, ``4.5 MB``."""
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KB"
    return f"{count / (1024 * 1024):.1f} MB"


def clock_text(when: float) -> str:
    """A Unix time as local ``YYYY-MM-DD HH:MM:SS``."""
    return datetime.fromtimestamp(when).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def same_tmux_text(drop: Drop) -> str:
    """The "same tmux session?" cell."""
    if drop.recovery is None:
        return f"not recovered ({drop.outcome})" if drop.outcome else "not recovered"
    if drop.same_tmux is None:
        return "no tmux"
    return "same" if drop.same_tmux else "new session"


DROP_HEADER = ("PROFILE", "START", "END", "RECOVERY", "TMUX", "HELD KEYS", "CAUSE")
SUMMARY_HEADER = (
    "PROFILE",
    "SESSIONS",
    "OBSERVED",
    "DROPS",
    "DROPS/HOUR",
    "MEDIAN RECOVERY",
    "WORST RECOVERY",
    "NOT RECOVERED",
)


def held_text(delivered: int, discarded: int) -> str:
    """Held keys as ``3 B delivered``, ``5 B discarded``, both, or ``-``."""
    parts = []
    if delivered:
        parts.append(f"{bytes_text(delivered)} delivered")
    if discarded:
        parts.append(f"{bytes_text(discarded)} discarded")
    return ", ".join(parts) or "-"


def drop_rows(drops: Iterable[Drop]) -> list[tuple[str, ...]]:
    """Table rows for drops (header not included)."""
    return [
        (
            drop.profile,
            clock_text(drop.start),
            clock_text(drop.end),
            duration_text(drop.recovery, RECORD),
            same_tmux_text(drop),
            held_text(drop.held_delivered, drop.held_discarded),
            drop.cause,
        )
        for drop in drops
    ]


def summary_rows(summaries: Iterable[ProfileSummary]) -> list[tuple[str, ...]]:
    """Table rows for profile summaries (header not included)."""
    return [
        (
            summary.profile,
            str(summary.sessions),
            duration_text(summary.observed, RECORD),
            str(summary.drops),
            "-" if summary.drops_per_hour is None else f"{summary.drops_per_hour:.1f}",
            duration_text(summary.median_recovery, RECORD),
            duration_text(summary.worst_recovery, RECORD),
            str(summary.not_recovered),
        )
        for summary in summaries
    ]
