"""The tunnels view of a tab (prefix ``f``): each forward, what it carries, and why one fails.

It works on the tab's running TunnelSet: adding or removing a forward takes effect at once
(a new local listener binds, a remote forward is requested on the live connection), and
``s`` writes the tab's forwards into its profile, like PuTTY's "Save" on the Tunnels panel.
Counters (connections, bytes) are read twice a second while the view is open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from termkeep.config.forwards import ForwardError, check_distinct, parse_flag
from termkeep.transport.tunnels import Tunnel, TunnelSet, TunnelState
from termkeep.ui.plain_text import plain, plain_str
from termkeep.ui.screens.dialogs import TextInputScreen

REFRESH_SECONDS = 0.5
COLUMNS = ("forward", "listening on", "state", "open", "total", "sent", "received", "broken")

type SaveForwards = Callable[[], str]
"""Writes the tab's running forwards into its profile; returns what to tell the user."""

_STATE_WORDS = {
    TunnelState.STARTING: "starting",
    TunnelState.WAITING: "waiting for the link",
    TunnelState.UP: "up",
    TunnelState.FAILED: "FAILED",
}


def byte_count(count: int) -> str:
    """``0 B``, ``12.3 kB``, ``4.5 MB``, ``1.2 GB`` (decimal units, as ssh and curl print)."""
    size = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover - the loop returns at GB


def tunnel_row(tunnel: Tunnel) -> tuple[Text, ...]:
    """One table row, every cell plain text (host names come from files and servers; a
    plain ``str`` cell would be parsed as markup by DataTable)."""
    cells = (
        tunnel.forward.flag,
        tunnel.listening_on,
        _STATE_WORDS[tunnel.state],
        str(tunnel.open),
        str(tunnel.total),
        byte_count(tunnel.bytes_sent),
        byte_count(tunnel.bytes_received),
        str(tunnel.broken),
    )
    return tuple(Text(plain_str(cell)) for cell in cells)


class TunnelsScreen(ModalScreen[None]):
    """Lists, adds and removes the forwards of one tab."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "close"),
        Binding("a", "add", "add"),
        Binding("d,delete", "remove", "remove"),
        Binding("s", "save", "save to profile"),
    ]

    def __init__(self, tab_name: str, tunnels: TunnelSet, save: SaveForwards) -> None:
        super().__init__()
        self.tab_name = tab_name
        self.tunnels = tunnels
        self._save = save

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tunnels"):
            yield Label(plain(f"Tunnels of {self.tab_name}"), classes="question")
            table: DataTable[Text] = DataTable(id="tunnels", cursor_type="row")
            table.add_columns(*COLUMNS)
            yield table
            yield Static(id="tunnel-problem", classes="error-text", markup=False)
            yield Static(id="tunnels-state", classes="hint", markup=False)
            yield Static(
                "a add (ssh syntax: -L 8080:db:5432) · d remove · s save to profile · escape close",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query_one("#tunnels", DataTable).focus()
        self.refresh_table()
        self.set_interval(REFRESH_SECONDS, self.refresh_table)

    # --- the table ----------------------------------------------------------------------------

    def refresh_table(self) -> None:
        """Show every forward's current numbers, keeping the cursor where it is."""
        table: DataTable[Text] = self.query_one("#tunnels", DataTable)
        cursor = table.cursor_row
        table.clear()
        for index, tunnel in enumerate(self.tunnels.tunnels):
            table.add_row(*tunnel_row(tunnel), key=str(index))
        if self.tunnels.tunnels:
            table.move_cursor(row=min(cursor, len(self.tunnels.tunnels) - 1))
        self._show_problem()
        count = len(self.tunnels.tunnels)
        self.show_state(
            f"{count} forward{'s' if count != 1 else ''}" if count else "No forwards: a adds one."
        )

    def _show_problem(self) -> None:
        tunnel = self.selected
        problem = f"{tunnel.forward.flag}: {tunnel.error}" if tunnel and tunnel.error else ""
        self.query_one("#tunnel-problem", Static).update(plain(problem, multiline=True))

    def show_state(self, text: str) -> None:
        self.query_one("#tunnels-state", Static).update(plain(text))

    @property
    def selected(self) -> Tunnel | None:
        table: DataTable[Text] = self.query_one("#tunnels", DataTable)
        if not self.tunnels.tunnels or table.cursor_row < 0:
            return None
        return self.tunnels.tunnels[min(table.cursor_row, len(self.tunnels.tunnels) - 1)]

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_problem()

    # --- actions ------------------------------------------------------------------------------

    def action_add(self) -> None:
        """Ask for a forward in ssh's syntax and start it on the tab."""
        self.app.push_screen(
            TextInputScreen(
                "New forward, as for ssh (-L, -R or -D)", placeholder="-L 8080:localhost:80"
            ),
            self._add_typed,
        )

    async def _add_typed(self, text: str | None) -> None:
        if not text or not text.strip():
            return
        flag, _, spec = text.strip().partition(" ")
        try:
            forward = parse_flag(flag, spec)
            check_distinct([*self.tunnels.forwards, forward])
        except ForwardError as error:
            self.app.notify(f"Not added: {error}", severity="error")
            return
        tunnel = await self.tunnels.add(forward)
        self.refresh_table()
        if tunnel.state is TunnelState.FAILED:
            self.app.notify(f"{forward.flag}: {tunnel.error}", severity="error")

    async def action_remove(self) -> None:
        """Stop the highlighted forward (its listener closes, its connections end)."""
        tunnel = self.selected
        if tunnel is not None:
            await self.tunnels.remove(tunnel)
            self.refresh_table()
            self.app.notify(f"Removed {tunnel.forward.flag}")

    def action_save(self) -> None:
        """Write the running forwards into the tab's profile."""
        self.app.notify(self._save())

    def action_close(self) -> None:
        self.dismiss(None)
