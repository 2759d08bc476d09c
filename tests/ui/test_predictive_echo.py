"""Predictive echo in TerminalView: guesses drawn at paint time over a real Emulator.

The "remote" here is a scripted echo: the test decides when each key's echo reaches the
emulator, the way a slow link would deliver it.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.pilot import Pilot

from termkeep.session.tab import SessionTerminal
from termkeep.terminal.emulator import Emulator
from termkeep.terminal.predict import PredictMode, Predictor
from termkeep.ui.widgets.terminal_view import TerminalView
from tests.ui.pilot import wait_for
from tests.ui.test_terminal_view import WAIT, CountingView, line_text


class EchoApp(App[None]):
    def __init__(self, mode: PredictMode = PredictMode.ADAPTIVE, rtt: float = 0.2) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.emulator = Emulator(40, 10, write=lambda _data: None)
        self.predictor = Predictor(mode)
        self.predictor.rtt_sample(rtt)
        self.predictor.resume(0.0)
        self.terminal = SessionTerminal(
            self.emulator, send=self.sent.append, predictor=self.predictor
        )
        self.view = CountingView(self.terminal)

    def compose(self) -> ComposeResult:
        yield self.view


def underlined(view: TerminalView, y: int) -> str:
    """The text of line ``y`` drawn underlined."""
    return "".join(
        segment.text
        for segment in view.render_line(y)
        if segment.style is not None and segment.style.underline
    )


async def confirmed_prompt(app: EchoApp, pilot: Pilot[None], prompt: bytes = b"$ ") -> None:
    """A prompt where one typed key was echoed, so the epoch is confirmed."""
    app.terminal.feed(prompt)
    await wait_for(
        pilot,
        lambda: line_text(app.view, 0) == prompt.decode().rstrip(),
        "the prompt on line 0",
        bound=WAIT,
    )
    await pilot.press("e")
    app.terminal.feed(b"e")
    await wait_for(pilot, lambda: not app.predictor.pending, "no guess pending", bound=WAIT)


async def test_typed_keys_show_underlined_at_once_and_plain_after_the_echo() -> None:
    app = EchoApp()
    async with app.run_test(size=(40, 10)) as pilot:
        await confirmed_prompt(app, pilot)
        app.view.refreshed.clear()
        await pilot.press("c", "h", "o")
        assert app.sent[-3:] == [b"c", b"h", b"o"]
        assert app.emulator.text().splitlines()[0] == "$ e"  # the emulator has no guess in it
        await wait_for(
            pilot, lambda: line_text(app.view, 0) == "$ echo", "'$ echo' on line 0", bound=WAIT
        )
        assert underlined(app.view, 0) == "cho"
        assert set(app.view.refreshed) == {0}  # only the edited row is repainted
        app.terminal.feed(b"cho")
        await wait_for(pilot, lambda: not app.predictor.pending, "no guess pending", bound=WAIT)
        await pilot.pause()
        assert line_text(app.view, 0) == "$ echo"
        assert underlined(app.view, 0) == ""
        assert not app.view.overlay


async def test_a_fast_link_shows_no_guess_in_adaptive_mode() -> None:
    app = EchoApp(rtt=0.005)
    async with app.run_test(size=(40, 10)) as pilot:
        await confirmed_prompt(app, pilot)
        await pilot.press("x")
        await pilot.pause()
        assert line_text(app.view, 0) == "$ e"


async def test_a_wrong_guess_is_taken_back_when_the_remote_shows_otherwise() -> None:
    app = EchoApp()
    async with app.run_test(size=(40, 10)) as pilot:
        await confirmed_prompt(app, pilot)
        await pilot.press("q")
        await wait_for(
            pilot, lambda: line_text(app.view, 0) == "$ eq", "'$ eq' on line 0", bound=WAIT
        )
        app.terminal.feed(b"\r\x1b[K$ other")
        await wait_for(
            pilot, lambda: line_text(app.view, 0) == "$ other", "'$ other' on line 0", bound=WAIT
        )
        assert not app.view.overlay


async def test_the_predicted_cursor_is_painted_and_a_timeout_restores_the_remotes() -> None:
    app = EchoApp(rtt=0.05)
    async with app.run_test(size=(40, 10)) as pilot:
        await confirmed_prompt(app, pilot)
        await pilot.press("z")
        await wait_for(
            pilot,
            lambda: app.view.overlay.cursor == (4, 0),
            "the predicted cursor at (4, 0)",
            bound=WAIT,
        )
        # No echo ever comes: the view's own timer drops the guess after the timeout.
        await wait_for(pilot, lambda: not app.view.overlay, "the guess dropped", bound=WAIT)
        assert line_text(app.view, 0) == "$ e"


async def test_vim_insert_mode_on_the_alternate_screen() -> None:
    app = EchoApp()
    async with app.run_test(size=(40, 10)) as pilot:
        app.terminal.feed(b"\x1b[?1049h\x1b[H\x1b[2J~\r\n~\x1b[H")
        await wait_for(pilot, lambda: line_text(app.view, 1) == "~", "'~' on line 1", bound=WAIT)
        await pilot.press("i")  # insert mode: vim echoes nothing
        app.terminal.feed(b"\x1b[10;1H-- INSERT --\x1b[1;1H")
        await pilot.press("h")
        app.terminal.feed(b"h")
        await wait_for(pilot, lambda: line_text(app.view, 0) == "h", "'h' on line 0", bound=WAIT)
        await pilot.press("i")
        app.terminal.feed(b"i")
        await wait_for(pilot, lambda: not app.predictor.pending, "no guess pending", bound=WAIT)
        await pilot.press("!")
        await wait_for(
            pilot, lambda: line_text(app.view, 0) == "hi!", "'hi!' on line 0", bound=WAIT
        )
        assert underlined(app.view, 0) == "!"
        assert app.emulator.text().splitlines()[0] == "hi"


async def test_a_password_prompt_shows_nothing_typed() -> None:
    app = EchoApp()
    async with app.run_test(size=(40, 10)) as pilot:
        await confirmed_prompt(app, pilot, b"$ sud")
        await pilot.press("enter")
        app.terminal.feed(b"\r\n[sudo] password: ")
        await wait_for(
            pilot,
            lambda: line_text(app.view, 1) == "[sudo] password:",
            "the password prompt on line 1",
            bound=WAIT,
        )
        await pilot.press(*"hunter2")
        await pilot.pause(0.3)  # past the glitch threshold too
        assert line_text(app.view, 1) == "[sudo] password:"
