"""A tab's connection history: every drop so far, the round trip over the session, bytes in
and out, and what became of keys typed during outages.

The screen is given a function that returns the session's history now (``SessionLike.
connection_history``) and asks it again every second while it is open, so an outage going on
is seen growing and its end appears as it happens. Causes are text from servers and
exceptions: the table gets them as rich ``Text`` (never markup), the lines through ``plain``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Sparkline, Static

from termkeep.records.connection_history import (
    ConnectionHistory,
    Drop,
    RttStats,
    bytes_text,
    held_text,
    same_tmux_text,
    summary_of,
)
from termkeep.terminal.durations import RECORD, duration_text, milliseconds_text
from termkeep.ui.plain_text import plain

type ConnectionHistorySource = Callable[[], ConnectionHistory]

REFRESH_INTERVAL = 1.0
"""Seconds between refreshes while the view is open."""
COLUMNS = ("Start", "End", "Recovery", "tmux session", "Held keys", "Cause")


def time_of_day(when: float) -> str:
    """``HH:MM:SS`` in local time."""
    return datetime.fromtimestamp(when).astimezone().strftime("%H:%M:%S")


def totals_line(history: ConnectionHistory) -> str:
    """Uptime, drops, and how quickly they recovered."""
    up = history.now - history.started
    summary = summary_of(history.profile, 1, up, history.drops)
    drops = summary.drops + (1 if history.ongoing is not None else 0)
    parts = [f"up {duration_text(up, RECORD)}", f"{drops} drop{'s' if drops != 1 else ''}"]
    if summary.median_recovery is not None:
        parts.append(f"median recovery {duration_text(summary.median_recovery, RECORD)}")
        parts.append(f"worst {duration_text(summary.worst_recovery, RECORD)}")
    if summary.not_recovered:
        parts.append(f"{summary.not_recovered} not recovered")
    if history.ongoing is not None:
        parts.append(
            f"down now for {duration_text(history.ongoing.end - history.ongoing.start, RECORD)}"
        )
    return "  ·  ".join(parts)


def traffic_line(history: ConnectionHistory) -> str:
    """Bytes both ways and the fate of held keys."""
    held = held_text(history.held_delivered, history.held_discarded)
    return (
        f"in {bytes_text(history.bytes_in)}  ·  out {bytes_text(history.bytes_out)}  ·  "
        f"keys typed during outages: {'none' if held == '-' else held}"
    )


def rtt_line(stats: RttStats | None) -> str:
    """The numbers under the sparkline."""
    if stats is None:
        return "no round trip measured yet"
    return (
        f"last {milliseconds_text(stats.last)}  ·  lowest {milliseconds_text(stats.low)}  ·  "
        f"highest {milliseconds_text(stats.high)}  ·  {stats.count} samples since the start"
    )


def drop_cells(drop: Drop, ongoing: bool) -> tuple[Text, ...]:
    """One row of the timeline; every cell is plain text."""
    if ongoing:
        end, recovery, tmux = "now", f"down {duration_text(drop.end - drop.start, RECORD)}", "…"
    else:
        end, recovery = time_of_day(drop.end), duration_text(drop.recovery, RECORD)
        tmux = same_tmux_text(drop)
    cells = (
        time_of_day(drop.start),
        end,
        recovery,
        tmux,
        held_text(drop.held_delivered, drop.held_discarded),
        drop.cause,
    )
    return tuple(Text(cell, no_wrap=True) for cell in cells)


class ConnectionHistoryScreen(ModalScreen[None]):
    """The connection history of one tab."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "close")]

    def __init__(self, label: str, source: ConnectionHistorySource) -> None:
        super().__init__()
        self.label = label
        self._source = source
        self._rows_shown: tuple[tuple[Text, ...], ...] = ()

    def compose(self) -> ComposeResult:
        history = self._source()
        with Vertical(classes="dialog connection-history"):
            yield Label(
                plain(f"Connection history of {self.label} ({history.host})"), classes="question"
            )
            yield Static(id="totals", markup=False)
            yield Static(id="traffic", markup=False)
            with Horizontal(id="rtt-row"):
                yield Label("RTT")
                yield Sparkline(id="rtt")
            yield Static(id="rtt-numbers", classes="hint", markup=False)
            table: DataTable[Text] = DataTable(id="drops", cursor_type="row", zebra_stripes=True)
            table.add_columns(*COLUMNS)
            yield table
            yield Static(id="no-drops", classes="hint", markup=False)
            yield Static(
                "escape closes  ·  `termkeep history` prints every session's drops",
                classes="hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self.show(self._source())
        self.set_interval(REFRESH_INTERVAL, self._refresh)

    def _refresh(self) -> None:
        self.show(self._source())

    def show(self, history: ConnectionHistory) -> None:
        """Fill the view with ``history``."""
        self.query_one("#totals", Static).update(plain(totals_line(history)))
        self.query_one("#traffic", Static).update(plain(traffic_line(history)))
        self.query_one("#rtt", Sparkline).data = [rtt * 1000 for rtt in history.rtt]
        self.query_one("#rtt-numbers", Static).update(plain(rtt_line(history.rtt_stats)))
        rows = tuple(drop_cells(drop, ongoing=False) for drop in history.drops)
        if history.ongoing is not None:
            rows += (drop_cells(history.ongoing, ongoing=True),)
        if rows != self._rows_shown:
            self._rows_shown = rows
            table: DataTable[Text] = self.query_one("#drops", DataTable)
            table.clear()
            for row in rows:
                table.add_row(*row)
            table.move_cursor(row=len(rows) - 1)  # the latest drop in view
        table_shown = bool(rows)
        self.query_one("#drops", DataTable).display = table_shown
        self.query_one("#no-drops", Static).update("" if table_shown else "No drops so far.")
        self.query_one("#no-drops", Static).display = not table_shown
