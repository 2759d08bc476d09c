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


RULER = AwayRuler(55, "while you were away (9 s): 6 lines printed")


def shown_rows(screen: ScrollbackScreen) -> list[str]:
    view = screen.lines_widget
    return [view.render_line(y).text.rstrip() for y in range(view.size.height)]


async def test_the_ruler_takes_a_row_and_the_last_line_stays_on_screen() -> None:
    # The ruler drawn on the last screen: the view still ends with the last line, at the
    # bottom and after moving away and back; the rule spans the width.
    app = HistoryApp()
    async with app.run_test(size=(80, 20)) as pilot:
        source = FixedScrollback()
        source.ruler = RULER
        screen = ScrollbackScreen(source, app.view, "web")
        await app.push_screen(screen)
        await pilot.pause()
        view = screen.lines_widget
        for keys in ((), ("pageup", "pageup", "G"), ("g", "end"), ("up", "down", "down")):
            await pilot.press(*keys)
            await pilot.pause()
            rows = shown_rows(screen)
            assert rows[-1] == "bold underlined truecolor", (keys, rows)
            at = rows.index(f"── {RULER.text} " + "─" * (80 - len(RULER.text) - 4))
            assert rows[at - 1].startswith("line 54:")
            assert rows[at + 1].startswith("line 55:")
            assert view.cursor == len(view.lines) - 1
        # The ruler is no line: what the mouse points at below it is the line drawn there.
        assert view.point_at(0, at + 1) == (0, 55)
        assert view.point_at(0, at - 1) == (0, 54)


async def test_a_goes_to_the_ruler_and_says_so_when_there_is_none() -> None:
    app = HistoryApp()
    async with app.run_test(size=(80, 20)) as pilot:
        source = FixedScrollback()
        source.ruler = AwayRuler(5, RULER.text)
        screen = ScrollbackScreen(source, app.view, "web")
        await app.push_screen(screen)
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        view = screen.lines_widget
        assert view.cursor == 5
        rows = shown_rows(screen)
        assert rows[rows.index(f"── {RULER.text} " + "─" * (80 - len(RULER.text) - 4)) + 1] == (
            "line 5: colour 6 plain"
        )
        source.ruler = None
        await pilot.press("G", "a")
        await pilot.pause()
        assert view.cursor == len(view.lines) - 1
        assert not any(RULER.text in row for row in shown_rows(screen))
        assert any("No lines from an outage" in str(n.message) for n in app._notifications)
