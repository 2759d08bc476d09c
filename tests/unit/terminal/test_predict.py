"""The Predictor against a real Emulator: keys in, the remote's bytes in, the drawn screen out.

Each case types keys and feeds what a remote would echo, as bytes, through the real engine,
then compares what would be drawn (the emulator's screen with the overlay on top) with what
the user should see.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from termkeep.terminal.emulator import Emulator, row_text
from termkeep.terminal.predict import (
    GLITCH_AFTER,
    MIN_TIMEOUT,
    Overlay,
    PredictMode,
    Predictor,
    char_width,
    overlaid_row,
)

SLOW = 0.2
"""A 200 ms link: predictions shown and underlined."""


@dataclass
class Rig:
    """An emulator, a predictor and a clock, driven like the app drives them."""

    columns: int = 20
    rows: int = 4
    mode: PredictMode = PredictMode.ADAPTIVE
    rtt: float | None = SLOW
    now: float = 100.0
    emulator: Emulator = field(init=False)
    predictor: Predictor = field(init=False)

    def __post_init__(self) -> None:
        self.emulator = Emulator(self.columns, self.rows, write=_ignore, scrollback_lines=0)
        self.predictor = Predictor(self.mode)
        if self.rtt is not None:
            self.predictor.rtt_sample(self.rtt)

    def type(self, data: bytes | str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self.predictor.typed(raw, self.emulator.snapshot(), self.now)

    def remote(self, data: bytes | str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self.emulator.feed(raw)
        self.observe()

    def observe(self) -> None:
        self.predictor.observe(self.emulator.snapshot(), self.now)

    def wait(self, seconds: float) -> None:
        self.now += seconds
        self.observe()

    def overlay(self) -> Overlay:
        return self.predictor.overlay()

    def drawn(self) -> list[str]:
        """The screen as the user sees it: the remote's, predictions drawn over it."""
        overlay = self.overlay()
        return [
            row_text(overlaid_row(row, overlay.rows.get(y, {})))
            for y, row in enumerate(self.emulator.snapshot().rows)
        ]

    def screen(self) -> list[str]:
        return [row_text(row) for row in self.emulator.snapshot().rows]

    def drawn_cursor(self) -> tuple[int, int] | None:
        predicted = self.overlay().cursor
        if predicted is not None:
            return predicted
        cursor = self.emulator.snapshot().cursor
        return None if cursor is None else (cursor.x, cursor.y)

    def confirmed_prompt(self, prompt: str = "$ ", first: str = "e") -> None:
        """A prompt where one typed key was echoed: the epoch is confirmed."""
        self.remote(prompt)
        self.type(first)
        self.remote(first)


def _ignore(_data: bytes) -> None:
    return None


def test_typed_characters_show_before_the_echo_and_are_confirmed_by_it() -> None:
    rig = Rig()
    rig.confirmed_prompt()
    rig.type("cho")
    assert rig.drawn()[0] == "$ echo"
    assert rig.screen()[0] == "$ e"
    assert rig.drawn_cursor() == (6, 0)
    assert all(cell.underline for cell in rig.overlay().rows[0].values())
    rig.remote("cho")
    assert not rig.predictor.pending
    assert rig.drawn() == rig.screen()


def test_nothing_shows_before_the_remote_confirmed_an_epoch() -> None:
    rig = Rig()
    rig.remote("$ ")
    rig.type("l")
    assert rig.drawn()[0] == "$"
    rig.remote("l")
    rig.type("s")
    assert rig.drawn()[0] == "$ ls"


@dataclass(frozen=True)
class Case:
    """Steps: ("type", keys), ("remote", bytes) or ("wait", seconds); what is drawn after."""

    name: str
    steps: tuple[tuple[str, str | float], ...]
    drawn: str
    cursor: tuple[int, int] | None = None


CASES = [
    Case(
        "backspace removes the character before the cursor",
        (("type", "cho"), ("type", "\x7f")),
        "$ ech",
        (5, 0),
    ),
    Case(
        "backspace echoed as \\b \\b is confirmed",
        (("type", "ch"), ("remote", "ch"), ("type", "\x7f"), ("remote", "\x08 \x08")),
        "$ ec",
        (4, 0),
    ),
    Case(
        "backspace at the start of a line guesses nothing, and what follows waits",
        (("remote", "\r"), ("type", "\x7f"), ("type", "z")),
        "$ e",
        (0, 0),
    ),
    Case(
        "a character in the middle of the line pushes the rest right",
        (("type", "cho"), ("remote", "cho"), ("type", "\x1b[D\x1b[D"), ("type", "X")),
        "$ ecXho",
        (5, 0),
    ),
    Case(
        "mid-line insert echoed the way bash does it",
        (
            ("type", "cho"),
            ("remote", "cho"),
            ("type", "\x1b[D"),
            ("type", "\x1b[D"),
            ("remote", "\x08\x08"),
            ("type", "X"),
            ("remote", "Xho\x08\x08"),
        ),
        "$ ecXho",
        (5, 0),
    ),
    Case(
        "right arrow past the end of the text is not guessed",
        (("type", "\x1b[C"), ("type", "q")),
        "$ e",
        (3, 0),
    ),
    Case(
        "application-mode arrows move too",
        (("type", "ab"), ("remote", "ab"), ("type", "\x1bOD"), ("type", "Z")),
        "$ eaZb",
        (5, 0),
    ),
    Case(
        "wide characters take two columns",
        (("type", "日本"),),
        "$ e日本",
        (7, 0),
    ),
    Case(
        "wide characters confirmed by their echo",
        (("type", "日本"), ("remote", "日本"), ("type", "\x7f")),
        "$ e日",
        (5, 0),
    ),
    Case(
        "the remote rewrites the line (tab completion) before the next key's echo",
        (("type", "\t"), ("type", "x"), ("remote", "cho "), ("remote", "x")),
        "$ echo x",
        (8, 0),
    ),
    Case(
        "history recall (up) rewrites the line; a key typed after it never shows wrongly",
        (
            ("type", "\x1b[A"),
            ("type", "c"),
            ("remote", "\r\x1b[K$ ls -l"),
            ("wait", 0.1),
        ),
        "$ ls -l",
        (7, 0),
    ),
    Case(
        "a contradicted prediction is dropped and the remote's screen shows",
        (("type", "q"), ("remote", "w")),
        "$ ew",
        (4, 0),
    ),
    Case(
        "a prediction with no echo times out",
        (("type", "q"), ("wait", MIN_TIMEOUT + 1)),
        "$ e",
        (3, 0),
    ),
    Case(
        "a password prompt after Enter: nothing typed shows",
        (
            ("type", "\r"),
            ("remote", "\r\nPassword: "),
            ("type", "s"),
            ("type", "ecret"),
            ("wait", GLITCH_AFTER + 0.1),
        ),
        "$ e\nPassword:",
        (10, 1),
    ),
    Case(
        "stty -echo: cat reads what is typed, nothing shows",
        (
            ("type", "\r"),
            ("remote", "\r\n"),
            ("type", "hello"),
            ("wait", 0.5),
            ("type", "\r"),
            ("type", "world"),
            ("wait", MIN_TIMEOUT + 1),
        ),
        "$ e",
        (0, 1),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_predictions(case: Case) -> None:
    rig = Rig()
    rig.confirmed_prompt()
    for action, value in case.steps:
        if action == "type":
            rig.type(str(value))
        elif action == "remote":
            rig.remote(str(value))
        else:
            rig.wait(float(value))
    expected = case.drawn.split("\n")
    assert rig.drawn()[: len(expected)] == expected
    assert rig.drawn_cursor() == case.cursor


def test_right_margin_wraps_and_the_last_column_waits_for_the_remote() -> None:
    rig = Rig(columns=10)
    rig.confirmed_prompt()
    rig.type("abcdef")  # fills columns 3-8; column 9 is the last
    assert rig.drawn()[0] == "$ eabcdef"
    rig.type("g")  # the last column: how it wraps differs between programs, so it waits
    rig.type("h")
    assert rig.drawn()[:2] == ["$ eabcdef", ""]
    rig.remote("abcdefgh")
    rig.wait(MIN_TIMEOUT + 1)
    assert rig.drawn() == rig.screen()
    assert rig.screen()[:2] == ["$ eabcdefg", "h"]


def test_a_wide_character_that_does_not_fit_goes_to_the_next_row() -> None:
    rig = Rig(columns=10)
    rig.confirmed_prompt()
    rig.type("abcdef")
    rig.remote("abcdef")
    rig.type("日")  # one column left: the remote wraps it, its own way
    assert rig.drawn() == rig.screen()
    rig.remote(" \r\n日")
    rig.wait(MIN_TIMEOUT + 1)
    assert rig.drawn() == rig.screen()


def test_a_contradiction_in_a_confirmed_epoch_takes_back_every_prediction() -> None:
    rig = Rig()
    rig.confirmed_prompt()
    rig.type("abc")
    rig.remote("\r\x1b[K$ something else")
    assert rig.drawn() == rig.screen()
    assert not rig.overlay()


def test_vim_insert_mode_shows_after_the_first_echo() -> None:
    rig = Rig()
    rig.remote("\x1b[?1049h\x1b[H~\r\n~\x1b[H")
    rig.type("i")  # insert mode: no echo, the next key lands where 'i' was guessed
    rig.type("h")
    rig.remote("\x1b[4;1H-- INSERT --\x1b[1;1H")
    rig.remote("h")
    assert rig.drawn() == rig.screen()
    rig.type("i")
    rig.remote("i")
    rig.type("!")
    assert rig.drawn()[0] == "hi!"
    rig.remote("!")
    assert rig.drawn() == rig.screen()
    assert not rig.predictor.pending


@pytest.mark.parametrize(
    ("rtt", "shown", "underlined"),
    [(0.010, False, False), (0.040, True, False), (0.100, True, True)],
)
def test_adaptive_display_follows_the_rtt(rtt: float, shown: bool, underlined: bool) -> None:
    rig = Rig(rtt=rtt)
    rig.confirmed_prompt()
    rig.type("x")
    cells = rig.overlay().rows.get(0, {})
    assert bool(cells) is shown
    assert all(cell.underline is underlined for cell in cells.values())


def test_a_glitch_shows_predictions_on_a_fast_link() -> None:
    rig = Rig(rtt=0.005)
    rig.confirmed_prompt()
    rig.type("x")
    assert not rig.overlay()
    rig.wait(GLITCH_AFTER + 0.01)
    assert rig.drawn()[0] == "$ ex"


def test_underline_thresholds_have_hysteresis() -> None:
    rig = Rig(rtt=0.1)
    rig.confirmed_prompt()
    for _ in range(60):
        rig.predictor.rtt_sample(0.06)  # below 80 ms, above 50 ms: still underlined
    rig.type("x")
    assert all(cell.underline for cell in rig.overlay().rows[0].values())
    for _ in range(60):
        rig.predictor.rtt_sample(0.04)
    rig.observe()
    assert not any(cell.underline for cell in rig.overlay().rows[0].values())


def test_always_shows_on_a_fast_link_and_never_predicts_nothing() -> None:
    always = Rig(rtt=0.001, mode=PredictMode.ALWAYS)
    always.confirmed_prompt()
    always.type("x")
    assert always.drawn()[0] == "$ ex"
    never = Rig(mode=PredictMode.NEVER)
    never.confirmed_prompt()
    never.type("x")
    assert not never.overlay()
    assert not never.predictor.pending


def test_held_keys_show_during_an_outage_and_are_confirmed_after_delivery() -> None:
    rig = Rig()
    rig.confirmed_prompt()
    rig.predictor.pause()
    rig.type("cho")
    rig.wait(30.0)  # an outage far longer than any timeout
    assert rig.drawn()[0] == "$ echo"
    assert all(cell.underline for cell in rig.overlay().rows[0].values())
    rig.predictor.resume(rig.now)
    rig.wait(0.3)
    assert rig.drawn()[0] == "$ echo"
    rig.remote("cho")
    assert rig.drawn() == rig.screen() == ["$ echo", "", "", ""]
    assert not rig.predictor.pending


def test_discarded_held_keys_disappear() -> None:
    rig = Rig()
    rig.confirmed_prompt()
    rig.predictor.pause()
    rig.type("cho")
    rig.predictor.discard()
    rig.predictor.resume(rig.now)
    assert rig.drawn() == rig.screen()
    assert not rig.predictor.pending


def test_a_resize_drops_predictions() -> None:
    rig = Rig()
    rig.confirmed_prompt()
    rig.type("x")
    rig.emulator.resize(30, 4)
    rig.observe()
    assert not rig.overlay()


def test_deadline_wakes_the_owner_for_glitches_and_timeouts() -> None:
    rig = Rig()
    assert rig.predictor.next_deadline() is None
    rig.confirmed_prompt()
    rig.type("x")
    deadline = rig.predictor.next_deadline()
    assert deadline is not None
    assert deadline == pytest.approx(rig.now + GLITCH_AFTER)
    rig.predictor.pause()
    assert rig.predictor.next_deadline() is None


@pytest.mark.parametrize(("character", "width"), [("a", 1), ("日", 2), ("\u0301", 0), ("é", 1)])
def test_char_width(character: str, width: int) -> None:
    assert char_width(character) == width


# -- unforeseen output starts a tentative epoch (issue 19: a password after read -n1) --------


def _secret_cells(rig: Rig, secret: str) -> list[str]:
    """The drawn cells (predictions) that show a character of ``secret``."""
    return [
        cell.grapheme
        for row in rig.overlay().rows.values()
        for cell in row.values()
        if cell.grapheme and cell.grapheme in secret
    ]


def test_a_read_s_prompt_after_read_n1_answered_without_enter_shows_nothing_typed() -> None:
    rig = Rig()
    rig.confirmed_prompt(first="x")  # the shell echoed a key: its epoch is confirmed
    rig.remote("\r\nContinue? ")  # read -n1 -p: nobody typed this
    rig.type("y")
    assert rig.drawn() == rig.screen()  # the first key of a new prompt waits for its echo
    rig.remote("y")
    rig.remote("\r\nPassword: ")  # read -s -p, no Enter typed since the confirmed "y"
    for character in "hunter2":
        rig.type(character)
        assert _secret_cells(rig, "hunter2") == []
        assert rig.drawn() == rig.screen()
        assert rig.overlay().cursor is None
        rig.wait(0.12)
    rig.wait(MIN_TIMEOUT + 1)
    assert rig.drawn() == rig.screen()


def test_keys_typed_ahead_of_a_prompt_vanish_when_it_shows() -> None:
    # "y" and the first secret keys typed within one round trip: guessed on the
    # "Continue?" line, they are no longer drawn once the prompt moves to the next row.
    rig = Rig()
    rig.confirmed_prompt(first="x")
    rig.remote("\r\nContinue? ")
    rig.type("y")
    rig.remote("y")
    rig.type("pw")
    assert rig.drawn()[1] == "Continue? ypw"
    rig.remote("\r\nPassword: ")
    assert not rig.overlay()
    assert not rig.predictor.pending
    rig.type("d")
    assert rig.drawn() == rig.screen()


def test_a_prompt_on_the_same_row_drops_keys_typed_ahead_and_hides_the_next() -> None:
    rig = Rig(columns=40)
    rig.confirmed_prompt("Continue? ", first="y")
    rig.type("pw")
    rig.remote(" Password: ")  # read -s -p " Password: " after read -n1, no newline
    assert not rig.overlay()
    rig.type("d")
    assert rig.drawn() == rig.screen()


def test_the_bottom_row_scrolling_a_prompt_in_drops_keys_typed_ahead() -> None:
    rig = Rig(rows=2)
    rig.remote("\r\n")
    rig.confirmed_prompt("Continue? ", first="y")
    rig.type("pw")
    rig.remote("\r\nPassword: ")  # the cursor stays on the bottom row: the text moved
    assert not rig.overlay()
    assert rig.drawn() == rig.screen()


def test_text_on_another_row_keeps_the_guesses_but_the_next_key_waits_for_its_echo() -> None:
    rig = Rig()
    rig.confirmed_prompt()
    rig.type("ch")
    rig.remote("\x1b7\x1b[4;1H12:01\x1b8")  # a clock in a status line, cursor put back
    assert rig.drawn()[0] == "$ ech"  # guesses made before it still show
    rig.type("o")
    assert rig.drawn()[0] == "$ ech"
    rig.remote("cho")
    rig.type("!")
    assert rig.drawn()[0] == "$ echo!"


def test_restyling_what_was_typed_is_no_surprise() -> None:
    # Syntax highlighting (zsh, fish) repaints the echoed word in another colour.
    rig = Rig()
    rig.confirmed_prompt()
    rig.type("c")
    rig.remote("\r$ \x1b[32mec\x1b[m")
    rig.type("h")
    assert rig.drawn()[0] == "$ ech"


def test_the_cursor_going_to_another_row_is_a_surprise_even_with_no_text() -> None:
    rig = Rig()
    rig.confirmed_prompt()
    rig.remote("\x1b[3;1H")  # a bare cursor move: a no-echo read may wait there
    rig.type("s")
    assert rig.drawn() == rig.screen()
    assert rig.overlay().cursor is None
