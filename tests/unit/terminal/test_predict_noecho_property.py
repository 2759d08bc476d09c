"""Property: after output no prediction foresaw, nothing typed is drawn until it is echoed.

Any interleaving of keys, the remote's echo and the remote's own output (prompts that turn
echo off or on, a line feed, a status line) is generated. The remote is a line editor that
echoes like readline while echo is on and swallows keys while it is off (``read -s``,
``stty -echo``); what it writes reaches the client in order, in chunks of any size.

Each stretch between two unforeseen outputs is a *period*, and every printable key typed in
a period is that period's own character (a letter and a wide character no other period and
no remote text uses), so whatever shows it on screen can only be the key's echo or its
guess. The properties, checked after every step:

- from the moment an unforeseen output reaches the client until the remote's output holds a
  character typed after it, no guess shows that period's characters and no guessed cursor is
  drawn (an echo of an earlier key does not end this);
- a write that ends with a prompt leaves no guess drawn at all: the keys typed ahead of it
  were guessed for a line that is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from termkeep.terminal.emulator import Emulator
from termkeep.terminal.predict import PredictMode, Predictor
from tests.unit.terminal.test_predict_property import BACKSPACE, LEFT, RIGHT, LineEditor

COLUMNS, ROWS = 30, 5
LETTERS = "abcdefghijklmnopqrstuvwxyz" + "αβγδεζηθικλμνξοπρστυφχψω"
"""One per period: 50 periods, more than a run's steps can start."""
WIDES = "".join(chr(0x4E00 + index) for index in range(len(LETTERS)))
MAX_STEPS = 40


@dataclass(frozen=True)
class Unit:
    """One write of the remote, in order: an echo, or output nobody typed."""

    text: str
    surprise: str | None = None
    """None for an echo; else the kind of unforeseen output."""


@dataclass
class Remote:
    """The remote as the client cannot see it: echo on or off, writes still on their way."""

    echo: bool = True
    editor: LineEditor = field(default_factory=LineEditor)
    on_the_way: list[Unit] = field(default_factory=list)
    prompts: int = 0

    def key(self, key: str) -> None:
        if not self.echo:
            return  # read -s: the key is read, nothing is written
        text = self.editor.key(key)
        # Enter's echo ends in the shell's next prompt: the line feed and "$ " were not typed.
        self.on_the_way.append(Unit(text, "enter" if key == "\r" else None))

    def prints(self, kind: str, echo: bool) -> None:
        """The remote writes something of its own (a program's prompt, a status line)."""
        self.prompts += 1
        label = f"P{self.prompts}:"  # 'P', digits and ':' are never typed
        texts = {
            "line": f"\r\n{label} ",
            "same-row": f" {label} ",
            "redraw": f"\r\x1b[K{label} ",
            "status": f"\x1b7\x1b[{ROWS};1HS{self.prompts}\x1b8",
            "line-feed": "\n",
            "cursor-row": "\x1b[A",
        }
        self.on_the_way.append(Unit(texts[kind], kind))
        if kind in ("line", "same-row", "redraw"):
            self.echo = echo
            self.editor = LineEditor()


KEY_KINDS = st.sampled_from(["letter", "letter", "letter", "wide", " ", BACKSPACE, LEFT, RIGHT])
PRINTS = st.sampled_from(["line", "same-row", "redraw", "status", "line-feed", "cursor-row"])
# Keys and deliveries far more often than the remote's own output, so that guesses are
# drawn (an epoch confirmed, keys typed ahead of their echo) when the surprise comes.
STEP = st.one_of(
    st.tuples(st.just("key"), KEY_KINDS),
    st.tuples(st.just("key"), KEY_KINDS),
    st.tuples(st.just("key"), KEY_KINDS),
    st.tuples(st.just("deliver"), st.integers(min_value=1, max_value=4)),
    st.tuples(st.just("deliver"), st.integers(min_value=1, max_value=4)),
    st.tuples(st.just("key"), st.sampled_from(["\r", "\t"])),
    st.tuples(st.just("prints"), st.tuples(PRINTS, st.booleans())),
    st.tuples(st.just("wait"), st.sampled_from([0.05, 0.3])),
)
STEPS = st.lists(STEP, min_size=8, max_size=MAX_STEPS)
AT_THE_CURSOR = ("line", "same-row", "redraw", "enter")
"""Unforeseen output that puts text at the cursor (a prompt)."""


@dataclass
class Client:
    """The emulator and predictor as TerminalView drives them, and what the test knows."""

    emulator: Emulator = field(
        default_factory=lambda: Emulator(COLUMNS, ROWS, write=lambda _d: None, scrollback_lines=0)
    )
    predictor: Predictor = field(default_factory=lambda: Predictor(PredictMode.ALWAYS))
    now: float = 10.0
    period: int = 0
    blind: bool = False
    """An unforeseen output came and no key typed since has been echoed."""

    def type(self, key: str) -> str:
        if key == "letter":
            key = LETTERS[self.period]
        elif key == "wide":
            key = WIDES[self.period]
        self.predictor.typed(key.encode(), self.emulator.snapshot(), self.now)
        return key

    def receive(self, units: list[Unit]) -> bool:
        """Feed ``units`` as one write; whether it ends with a prompt at the cursor."""
        cursor_before = self._cursor_row()
        kinds = set()
        for unit in units:
            if unit.surprise is None and self._echoes_this_period(unit.text):
                self.blind = False
            elif unit.surprise is not None:
                kinds.add(unit.surprise)
        self.emulator.feed("".join(unit.text for unit in units).encode())
        self.predictor.observe(self.emulator.snapshot(), self.now)
        moved = self._cursor_row() != cursor_before
        # A line feed or cursor-up is output only if the cursor really went to another row
        # (at the bottom a line feed may scroll a blank screen: nothing to see at all).
        if {kind for kind in kinds if kind not in ("line-feed", "cursor-row") or moved}:
            self.period += 1
            self.blind = True
        # Where a write ends, the cursor is: a prompt last in it is on the cursor's row.
        return bool(units) and units[-1].surprise in AT_THE_CURSOR

    def _echoes_this_period(self, text: str) -> bool:
        return LETTERS[self.period] in text or WIDES[self.period] in text

    def _cursor_row(self) -> int | None:
        cursor = self.emulator.snapshot().cursor
        return None if cursor is None else cursor.y

    def check(self, *, prompt_shown: bool = False) -> None:
        overlay = self.predictor.overlay()
        drawn = [cell.grapheme for row in overlay.rows.values() for cell in row.values()]
        if self.blind:
            secret = {LETTERS[self.period], WIDES[self.period]}
            assert not secret.intersection(drawn), "a key typed after unforeseen output shows"
            assert overlay.cursor is None, "the cursor moves for a key nobody echoed"
        if prompt_shown:
            assert not overlay, "guesses for a line that is gone are still drawn"


@settings(max_examples=400, deadline=None)
@given(steps=STEPS)
def test_nothing_typed_after_unforeseen_output_shows_until_it_is_echoed(
    steps: list[tuple[str, object]],
) -> None:
    client, remote = Client(), Remote()
    client.predictor.rtt_sample(0.2)
    client.receive([Unit("$ ", "line")])
    for action, value in steps:
        prompt_shown = False
        if action == "key":
            assert isinstance(value, str)
            remote.key(client.type(value))
        elif action == "deliver":
            assert isinstance(value, int)
            units, remote.on_the_way = remote.on_the_way[:value], remote.on_the_way[value:]
            prompt_shown = client.receive(units)
        elif action == "prints":
            assert isinstance(value, tuple)
            kind, echo = value
            remote.prints(kind, echo)
        else:
            assert isinstance(value, float)
            client.now += value
            client.predictor.observe(client.emulator.snapshot(), client.now)
        client.check(prompt_shown=prompt_shown)
        client.now += 0.02
    client.receive(remote.on_the_way)
    client.check()
