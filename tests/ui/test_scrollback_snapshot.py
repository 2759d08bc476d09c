"""A picture of the scrollback view: colours from tmux's SGR, a highlighted search, the
selection and the position line. The lines are fixed bytes in tmux's capture format, so the
picture is stable; the same view on a real sshd and tmux is in test_scrollback_view."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import App, ComposeResult
from textual.pilot import Pilot

from termkeep.session.tab import SessionTerminal
from termkeep.terminal.emulator import CellStyle, Emulator
from termkeep.terminal.history_lines import HistoryLine, search_lines
from termkeep.tmux.sgr import SgrParser
from termkeep.ui.screens.scrollback import ScrollbackScreen
from termkeep.ui.scrollback_source import AwayRuler, Follow, Jump
from termkeep.ui.widgets.terminal_view import TerminalView

CAPTURE = b"".join(
    [f"line {n}: \x1b[3{n % 7 + 1}mcolour {n % 7 + 1}\x1b[0m plain\n".encode() for n in range(60)]
    + [b"\x1b[1;4mbold underlined\x1b[0m \x1b[38;2;255;128;0;48;5;236mtruecolor\x1b[0m\n"]
)


class FixedScrollback:
    """The remote history as captured bytes (a stand-in only for the picture)."""

    remote = True
    more_above = False
    more_below = False
    limit_note = None
    full_screen = False

    def __init__(self) -> None:
        self._parser = SgrParser()
        self.ruler: AwayRuler | None = None

    def away_ruler(self, lines: Sequence[HistoryLine]) -> AwayRuler | None:  # noqa: ARG002
        return self.ruler

    def away_above(self) -> bool:
        return False

    @property
    def styles(self) -> Sequence[CellStyle]:
        return self._parser.styles

    async def first(self, page: int = 0) -> list[HistoryLine]:  # noqa: ARG002
        return self._parser.parse(CAPTURE)

    async def older(self, lines: Sequence[HistoryLine]) -> list[HistoryLine]:  # noqa: ARG002
        return []

    async def newer(self, lines: Sequence[HistoryLine]) -> list[HistoryLine]:  # noqa: ARG002
        return []

    async def follow(self, lines: Sequence[HistoryLine]) -> Follow | None:  # noqa: ARG002
        return None

    async def search(
        self,
        lines: Sequence[HistoryLine],
        query: str,
        cursor: int,
        *,
        forward: bool,
        page: int,  # noqa: ARG002
    ) -> Jump | None:
        found = search_lines(lines, query, cursor, forward=forward)
        return None if found is None else Jump(found)


class HistoryApp(App[None]):
    def compose(self) -> ComposeResult:
        emulator = Emulator(80, 20, write=lambda _data: None)
        self.view = TerminalView(SessionTerminal(emulator, send=print))
        yield self.view


def test_history_view_snapshot(snap_compare: Callable[..., bool]) -> None:
    app = HistoryApp()

    async def run_before(pilot: Pilot[None]) -> None:
        screen = ScrollbackScreen(FixedScrollback(), app.view, "web")
        await app.push_screen(screen)
        await pilot.pause()
        await pilot.press("question_mark", *"colour 3", "enter", "up", "v", "up")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 20), run_before=run_before)
