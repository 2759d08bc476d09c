"""``kill -USR1 <pid>`` writes what the running app is waiting on to ``state-<pid>.txt`` in
the logs directory: Textual's repaint state, every message queue that has work, and the
stacks of every thread and asyncio task.

For a hang the app cannot report by itself: a screen that stops repainting while the event
loop still runs (sessions and forwards keep working) is either a paused repaint (a batch
that never ended, the screen's update timer left paused), a message pump parked on an
await (its task's stack says which), or the terminal writer blocked. The file holds code
locations and counters only, never what was typed or shown: the screen appears as one
checksum per row, enough to compare with what the terminal shows (a terminal that lost the
app's output is told apart from an app that drew the wrong thing), and the keys as a count.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from textual.app import App
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.widgets import Tab

from termkeep.paths import logs_dir
from termkeep.platform.files import write_private_file
from termkeep.platform.stack_dump import task_stacks, thread_stacks

_log = logging.getLogger(__name__)

DUMP_SIGNAL = signal.SIGUSR1


def dump_path(pid: int, logs: Path) -> Path:
    """Where the dump of process ``pid`` goes, in the logs directory ``logs``."""
    return logs / f"state-{pid}.txt"


class KeyArrivals:
    """How many keys the app has taken from its terminal, and when the last came: whether
    keys typed into a frozen screen reached the app at all."""

    def __init__(self) -> None:
        self.count = 0
        self.last: float | None = None

    def note(self) -> None:
        self.count += 1
        self.last = time.monotonic()

    def age(self) -> float | None:
        """Seconds since the last key; None before the first."""
        return None if self.last is None else time.monotonic() - self.last

    def describe(self) -> str:
        age = self.age()
        if age is None:
            return "keys from the terminal: none yet"
        return f"keys from the terminal: {self.count}, the last {age:.1f} s ago"


def install(app: App[Any], keys: KeyArrivals) -> None:
    """Write the dump on each DUMP_SIGNAL while the app runs in a real terminal."""
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(DUMP_SIGNAL, _write_dump, app, keys, loop)


def _write_dump(app: App[Any], keys: KeyArrivals, loop: asyncio.AbstractEventLoop) -> None:
    header = f"termkeep {os.getpid()} at {time.strftime('%Y-%m-%d %H:%M:%S')}"
    state = [*textual_state(app), keys.describe()]
    lines = [header, *state, *task_stacks(loop), *thread_stacks()]
    try:
        write_private_file(dump_path(os.getpid(), logs_dir()), "\n".join(lines) + "\n")
    except OSError as error:
        _log.warning("state dump not written: %s", error)


def textual_state(app: App[Any]) -> Iterator[str]:
    """Textual's repaint state, read from its private attributes: it has no public API for
    them, and these are what decide whether a frame reaches the terminal."""
    yield f"batch count: {app._batch_count}"  # above zero, nothing is drawn
    yield f"focused: {type(app.focused).__name__}"
    for screen in app.screen_stack:
        yield from _screen_state(screen)
    yield f"notifications: {len(app._notifications)}"
    yield from _tab_labels(app)
    yield screen_rows_line(app.screen)
    yield from _queues(app)
    writer = getattr(app._driver, "_writer_thread", None)
    if writer is not None:
        yield f"terminal writer: alive={writer.is_alive()} queued={writer._queue.qsize()}"


def _screen_state(screen: Screen[Any]) -> Iterator[str]:
    timer = screen._update_timer  # paused while dirty widgets wait: no repaint
    yield (
        f"screen {type(screen).__name__}: current={screen.is_current} "
        f"update timer active={timer._active.is_set()} "
        f"dirty widgets={len(screen._dirty_widgets)} "
        f"layout={screen._layout_required} repaint={screen._repaint_required}"
    )


SCREEN_ROWS = "screen rows (crc32 of each row's text, trailing blanks dropped):"


def screen_rows_line(screen: Screen[Any]) -> str:
    """The screen as Textual last composed it, one checksum per row."""
    strips = screen._compositor.render_strips()
    return " ".join([SCREEN_ROWS, *(row_checksum(strip.text) for strip in strips)])


def row_checksum(row: str) -> str:
    return f"{zlib.crc32(row.rstrip().encode()):08x}"


def _tab_labels(app: App[Any]) -> Iterator[str]:
    """Where each tab label is and the state glyph it starts with (never its name: a label
    may be a remote's title)."""
    for tab in app.screen.query(Tab):
        label = tab.label
        glyph = label.plain[:1] or "(empty)"
        yield f"tab {tab.id}: region={tuple(tab.region)} glyph={glyph} cells={label.cell_length}"


def _queues(app: App[Any]) -> Iterator[str]:
    pumps: list[MessagePump] = [app, *app.screen_stack]
    pumps += list(app.screen.walk_children(with_self=False))
    for pump in pumps:
        queued = pump._message_queue.qsize()
        if queued:
            yield f"queue {type(pump).__name__} {getattr(pump, 'id', None) or ''}: {queued}"
