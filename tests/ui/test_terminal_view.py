"""TerminalView in a real Textual app (App.run_test + Pilot) over a real Emulator."""

from __future__ import annotations

from typing import Self

from rich.segment import Segment
from textual import events
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widget import Widget

from termkeep.session.tab import SessionTerminal
from termkeep.terminal.emulator import Emulator
from termkeep.terminal.palette import XTERM_ANSI, Palette
from termkeep.ui.terminal_port import TerminalPort
from termkeep.ui.widgets.terminal_view import (
    HISTORY_PAGE_UP,
    SYNC_HOLD_TIMEOUT,
    WHEEL_STEP,
    TerminalView,
)
from tests.ui.pilot import Bound, wait_for

WAIT = Bound(5.0, 0.01)
APP_PREFIX = "ctrl+backslash"


class TerminalApp(App[None]):
    """A bare app hosting one TerminalView, recording what it sends and announces."""

    def __init__(self, *, allow_clipboard_write: bool = False) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.titles: list[str] = []
        self.sizes: list[tuple[int, int]] = []
        self.replies: list[bytes] = []
        self.emulator = Emulator(80, 24, write=self.replies.append)
        self.terminal = SessionTerminal(
            self.emulator,
            send=self.sent.append,
            on_resize=lambda columns, rows: self.sizes.append((columns, rows)),
        )
        self.view = TerminalView(
            self.terminal,
            app_keys={APP_PREFIX},
            allow_clipboard_write=allow_clipboard_write,
        )

    def compose(self) -> ComposeResult:
        yield self.view

    def on_terminal_view_title_changed(self, message: TerminalView.TitleChanged) -> None:
        self.titles.append(message.title)


def line_text(view: TerminalView, y: int) -> str:
    return view.render_line(y).text.rstrip()


async def test_keys_reach_on_input_as_xterm_bytes() -> None:
    app = TerminalApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a", "ctrl+a", "up", "f5", "shift+tab", "enter", "escape", "space")
        await pilot.press("tab", "ctrl+c", "ctrl+z", "ctrl+d")
        assert app.sent == [
            *(b"a", b"\x01", b"\x1b[A", b"\x1b[15~", b"\x1b[Z", b"\r", b"\x1b", b" "),
            *(b"\t", b"\x03", b"\x1a", b"\x04"),
        ]


async def test_cursor_key_mode_from_the_remote_changes_arrows() -> None:
    app = TerminalApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.terminal.feed(b"\x1b[?1h")
        await pilot.press("up", "left")
        assert app.sent == [b"\x1bOA", b"\x1bOD"]


async def test_app_keys_are_left_to_the_app() -> None:
    app = TerminalApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(APP_PREFIX, "x")
        assert app.sent == [b"x"]


async def test_feed_repaints_the_changed_line() -> None:
    app = TerminalApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.view.frames_drawn > 0, "the first frame", bound=WAIT)
        app.terminal.feed(b"hello \x1b[1;32mworld\x1b[0m")
        await wait_for(
            pilot,
            lambda: line_text(app.view, 0) == "hello world",
            "'hello world' on line 0",
            bound=WAIT,
        )
        strip = app.view.render_line(0)
        green = [segment for segment in strip if segment.text.startswith("world")]
        assert green
        assert green[0].style is not None
        assert green[0].style.bold


async def test_an_unchanged_screen_reuses_strips_after_a_scroll() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        app.terminal.feed(b"\r\n".join(b"line %d" % n for n in range(10)))
        await wait_for(
            pilot, lambda: line_text(app.view, 9) == "line 9", "'line 9' on line 9", bound=WAIT
        )
        built = app.view.strips_built
        app.terminal.feed(b"\r\nline 10")
        await wait_for(
            pilot, lambda: line_text(app.view, 9) == "line 10", "'line 10' on line 9", bound=WAIT
        )
        # One new row; the nine that moved up keep their strips.
        assert app.view.strips_built == built + 1
        assert line_text(app.view, 0) == "line 1"


async def test_replies_go_out_during_feed() -> None:
    app = TerminalApp()
    async with app.run_test(size=(80, 24)):
        app.terminal.feed(b"\x1b[6n")
        assert app.replies == [b"\x1b[1;1R"]


async def test_title_reaches_the_app_as_a_message() -> None:
    app = TerminalApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.terminal.feed(b"\x1b]2;build\x08\x7f log\x07")
        await wait_for(pilot, lambda: bool(app.titles), "a title change", bound=WAIT)
        assert app.titles == ["build log"]


async def test_resize_reaches_the_emulator_and_the_callback() -> None:
    app = TerminalApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(
            pilot, lambda: app.emulator.size == (100, 30), "the emulator at 100x30", bound=WAIT
        )
        await pilot.resize_terminal(90, 20)
        await wait_for(
            pilot, lambda: app.emulator.size == (90, 20), "the emulator at 90x20", bound=WAIT
        )
        assert app.sizes == [(100, 30), (90, 20)]


async def test_drag_selection_copies_to_the_clipboard() -> None:
    app = TerminalApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.terminal.feed(b"first line\r\nsecond line")
        await wait_for(
            pilot,
            lambda: line_text(app.view, 1) == "second line",
            "'second line' on line 1",
            bound=WAIT,
        )
        await pilot.mouse_down(app.view, offset=(6, 0))
        await pilot.hover(app.view, offset=(5, 1))
        await pilot.mouse_up(app.view, offset=(5, 1))
        await wait_for(
            pilot, lambda: app.clipboard != "", "the selection on the clipboard", bound=WAIT
        )
        assert app.clipboard == "line\nsecond"
        assert app.sent == []


async def test_click_with_mouse_tracking_goes_to_the_remote() -> None:
    app = TerminalApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.terminal.feed(b"\x1b[?1000h\x1b[?1006h")
        await pilot.click(app.view, offset=(3, 1))
        assert app.sent == [b"\x1b[<0;4;2M", b"\x1b[<0;4;2m"]
        assert app.clipboard == ""


def scroll_up(view: TerminalView) -> events.MouseScrollUp:
    return events.MouseScrollUp(view, 1, 1, 0, -1, 0, False, False, False)


async def test_wheel_browses_scrollback_and_typing_returns_live() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        app.terminal.feed(b"\r\n".join(b"line %d" % n for n in range(30)))
        await wait_for(
            pilot,
            lambda: line_text(app.view, 9) == "line 29",
            "'line 29' on the last line",
            bound=WAIT,
        )
        app.view.post_message(scroll_up(app.view))
        await wait_for(
            pilot,
            lambda: line_text(app.view, 9) == "line 26",
            "'line 26' on the last line (wheel)",
            bound=WAIT,
        )
        await pilot.press("shift+pageup")
        await wait_for(
            pilot,
            lambda: line_text(app.view, 9) == "line 17",
            "'line 17' on the last line (shift+pageup)",
            bound=WAIT,
        )
        assert app.sent == []
        await pilot.press("x")
        await wait_for(
            pilot,
            lambda: line_text(app.view, 9) == "line 29",
            "'line 29' on the last line again",
            bound=WAIT,
        )
        assert app.sent == [b"x"]


async def test_wheel_in_a_full_screen_app_sends_arrows() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        app.terminal.feed(b"\x1b[?1049h")
        app.view.post_message(scroll_up(app.view))
        await wait_for(pilot, lambda: bool(app.sent), "the wheel's bytes sent", bound=WAIT)
        assert app.sent == [b"\x1b[A" * 3]


async def test_paste_is_bracketed_when_asked() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        app.terminal.feed(b"\x1b[?2004h")
        app.view.post_message(events.Paste("ls\n"))
        await wait_for(pilot, lambda: bool(app.sent), "the paste sent", bound=WAIT)
        assert app.sent == [b"\x1b[200~ls\n\x1b[201~"]


async def test_osc52_write_follows_the_setting() -> None:
    denied = TerminalApp(allow_clipboard_write=False)
    async with denied.run_test(size=(40, 10)):
        denied.terminal.feed(b"\x1b]52;c;c2VjcmV0\x07")
        assert denied.clipboard == ""
    allowed = TerminalApp(allow_clipboard_write=True)
    async with allowed.run_test(size=(40, 10)):
        allowed.terminal.feed(b"\x1b]52;c;c2VjcmV0\x07\x1b]52;c;?\x07")
        assert allowed.clipboard == "secret"
        assert allowed.replies == []


async def test_synchronized_output_holds_frames_until_it_ends_or_times_out() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        await wait_for(pilot, lambda: app.view.frames_drawn > 0, "the first frame", bound=WAIT)
        app.terminal.feed(b"\x1b[?2026hhidden")
        view = app.view
        # Decided from the clock the view is given, so no timing is asserted.
        assert view.holding_for_sync(100.0)
        assert view.holding_for_sync(100.0 + SYNC_HOLD_TIMEOUT / 2)
        assert not view.holding_for_sync(100.0 + SYNC_HOLD_TIMEOUT)
        app.terminal.feed(b"\x1b[?2026l")
        assert not view.holding_for_sync(200.0)
        await wait_for(
            pilot,
            lambda: line_text(view, 0) == "hidden",
            "'hidden' on line 0 after the hold",
            bound=WAIT,
        )


async def test_cursor_is_painted_over_the_cached_strip() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        app.terminal.feed(b"ab")
        await wait_for(pilot, lambda: line_text(app.view, 0) == "ab", "'ab' on line 0", bound=WAIT)
        cursor_colour = app.emulator.palette.cursor
        styles = [segment.style for segment in app.view.render_line(0) if segment.style]
        backgrounds = [style.bgcolor.get_truecolor() for style in styles if style.bgcolor]
        assert tuple(cursor_colour) in [tuple(colour) for colour in backgrounds]
        app.terminal.feed(b"\x1b[?25l")
        await wait_for(
            pilot,
            lambda: app.view.snapshot is not None and app.view.snapshot.cursor is None,
            "the cursor hidden",
            bound=WAIT,
        )
        styles = [segment.style for segment in app.view.render_line(0) if segment.style]
        backgrounds = [style.bgcolor.get_truecolor() for style in styles if style.bgcolor]
        assert tuple(cursor_colour) not in [tuple(colour) for colour in backgrounds]


def segment_at(view: TerminalView, y: int, text: str) -> Segment:
    """The segment of line `y` whose text starts with `text`."""
    found = [segment for segment in view.render_line(y) if segment.text.startswith(text)]
    assert found, f"no segment starting {text!r} on line {y}"
    return found[0]


def colours(segment: Segment) -> tuple[object, object]:
    assert segment.style is not None
    colour, background = segment.style.color, segment.style.bgcolor
    assert colour is not None
    assert background is not None
    return colour.get_truecolor(), background.get_truecolor()


async def test_theme_palette_colours_ansi_and_truecolor_passes_through() -> None:
    app = TerminalApp()
    ansi = list(XTERM_ANSI)
    ansi[1] = (1, 2, 3)  # the theme's red
    app.emulator.palette = Palette(ansi=tuple(ansi), foreground=(7, 8, 9), background=(4, 5, 6))
    async with app.run_test(size=(40, 10)) as pilot:
        app.terminal.feed(b"\x1b[31mred\x1b[0m plain \x1b[38;2;200;100;50mtrue\x1b[0m")
        await wait_for(
            pilot,
            lambda: line_text(app.view, 0) == "red plain true",
            "'red plain true' on line 0",
            bound=WAIT,
        )
        assert colours(segment_at(app.view, 0, "red")) == ((1, 2, 3), (4, 5, 6))
        assert colours(segment_at(app.view, 0, " plain")) == ((7, 8, 9), (4, 5, 6))
        assert colours(segment_at(app.view, 0, "true")) == ((200, 100, 50), (4, 5, 6))


async def test_wide_and_combining_characters_keep_columns_aligned() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        app.terminal.feed("中文|e\u0301|🙂|end".encode())
        await wait_for(
            pilot, lambda: "end" in line_text(app.view, 0), "'end' on line 0", bound=WAIT
        )
        strip = app.view.render_line(0)
        assert strip.cell_length == 40
        assert strip.text.rstrip() == "中文|e\u0301|🙂|end"
        # "end" starts where the engine put it: after 4 + 1 + 1 + 1 + 2 + 1 columns.
        assert strip.crop(10, 13).text == "end"


async def test_bell_reaches_the_app() -> None:
    bells: list[TerminalView.Bell] = []

    class BellApp(TerminalApp):
        def on_terminal_view_bell(self, message: TerminalView.Bell) -> None:
            bells.append(message)

    app = BellApp()
    async with app.run_test(size=(40, 10)) as pilot:
        app.terminal.feed(b"\x07")
        await wait_for(pilot, lambda: bool(bells), "the bell", bound=WAIT)
        assert bells[0].view is app.view


async def test_a_burst_of_bells_is_two_bells() -> None:
    bells: list[TerminalView.Bell] = []

    class BellApp(TerminalApp):
        def on_terminal_view_bell(self, message: TerminalView.Bell) -> None:
            bells.append(message)

    app = BellApp()
    async with app.run_test(size=(40, 10)) as pilot:
        app.terminal.feed(b"\x07" * 1000 + b"rang")  # one read: well within BELL_GAP
        await wait_for(pilot, lambda: "rang" in line_text(app.view, 0), "the text after them")
        # The first at once, the other 999 as one at the end of the gap: none lost.
        await wait_for(pilot, lambda: len(bells) >= 2, "the bell at the end of the gap")
        await pilot.pause()
        assert len(bells) == 2


async def test_wheel_goes_to_a_remote_that_tracks_the_mouse() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        app.terminal.feed(b"\x1b[?1000h\x1b[?1006h")
        app.view.post_message(scroll_up(app.view))
        await wait_for(pilot, lambda: bool(app.sent), "the wheel's bytes sent", bound=WAIT)
        assert app.sent == [b"\x1b[<64;2;2M"]


class CountingView(TerminalView):
    """A TerminalView that records which lines it asked Textual to send to the screen again
    (a refresh of the whole widget counts as every line)."""

    def __init__(self, port: TerminalPort) -> None:
        super().__init__(port)
        self.refreshed: list[int] = []

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        if self.is_mounted:
            lines = regions or [self.region.reset_offset]
            self.refreshed.extend(y for region in lines for y in region.line_range)
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


class CountingApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.terminal = SessionTerminal(Emulator(40, 10, write=lambda _: None), send=lambda _: None)
        self.view = CountingView(self.terminal)

    def compose(self) -> ComposeResult:
        yield self.view


async def test_only_changed_lines_go_to_the_screen_again() -> None:
    app = CountingApp()
    async with app.run_test(size=(40, 10)) as pilot:
        app.terminal.feed(b"\x1b[8;1Hprompt")
        await wait_for(
            pilot, lambda: line_text(app.view, 7) == "prompt", "'prompt' on line 7", bound=WAIT
        )
        await wait_for(pilot, lambda: 7 in app.view.refreshed, "line 7 refreshed", bound=WAIT)
        frames = app.view.frames_drawn
        app.view.refreshed.clear()
        # Write on line 3 and put the cursor back where it was: one row changes.
        app.terminal.feed(b"\x1b7\x1b[3;5Hchanged\x1b8")
        await wait_for(
            pilot, lambda: app.view.frames_drawn > frames, "a frame after the change", bound=WAIT
        )
        await pilot.pause()
        assert set(app.view.refreshed) == {2}
        assert line_text(app.view, 2) == "    changed"


async def test_the_direct_line_path_draws_what_textuals_styled_path_draws() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 8)) as pilot:
        app.terminal.feed(b"\x1b[1;31mred\x1b[0m \x1b[44mblue bg\x1b[0m \xe4\xb8\xad wide\r\nnext")
        await wait_for(
            pilot, lambda: line_text(app.view, 1) == "next", "'next' on line 1", bound=WAIT
        )
        whole = app.view.region.reset_offset
        for crop in (whole, Region(3, 0, 20, 2)):
            direct = app.view.render_lines(crop)
            styled = Widget.render_lines(app.view, crop)  # Textual's own path
            assert [list(strip) for strip in direct] == [list(strip) for strip in styled]


async def test_css_that_needs_textuals_styled_path_still_gets_it() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 8)) as pilot:
        app.view.styles.padding = (0, 2)
        app.terminal.feed(b"padded")
        await wait_for(
            pilot,
            lambda: "padded" in app.view.render_lines(Region(0, 0, 40, 1))[0].text,
            "padded on the styled line",
            bound=WAIT,
        )
        assert app.view.render_lines(Region(0, 0, 40, 1))[0].text.startswith("  padded")


async def test_wheel_and_shift_pageup_open_the_history_unless_the_remote_wants_them() -> None:
    app = TerminalApp()
    opened: list[int] = []
    app.view._on_history = opened.append
    async with app.run_test(size=(40, 10)) as pilot:
        app.view.post_message(scroll_up(app.view))
        # The first tick opens the view three lines up (the view's own wheel step), and
        # shift+PageUp a whole page up: each moves at once, as in any terminal.
        await wait_for(
            pilot,
            lambda: opened == [WHEEL_STEP],
            "the scrollback view opened by the wheel",
            bound=WAIT,
        )
        await pilot.press("shift+pageup")
        await wait_for(
            pilot,
            lambda: opened == [WHEEL_STEP, HISTORY_PAGE_UP],
            "the scrollback view opened by shift+pageup",
            bound=WAIT,
        )
        assert app.sent == []
        # A remote tracking the mouse (tmux mouse on, vim) still gets the wheel.
        app.terminal.feed(b"\x1b[?1000h\x1b[?1006h")
        app.view.post_message(scroll_up(app.view))
        await wait_for(pilot, lambda: bool(app.sent), "the wheel's bytes sent", bound=WAIT)
        assert app.sent == [b"\x1b[<64;2;2M"]
        # A full-screen program gets arrows, as without the history view.
        app.sent.clear()
        app.terminal.feed(b"\x1b[?1000l\x1b[?1049h")
        app.view.post_message(scroll_up(app.view))
        await wait_for(pilot, lambda: bool(app.sent), "the wheel's bytes sent", bound=WAIT)
        assert app.sent == [b"\x1b[A" * 3]
        assert opened == [WHEEL_STEP, HISTORY_PAGE_UP]
