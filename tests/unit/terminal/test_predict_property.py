"""Property: whatever the interleaving of keys and echo, the drawn screen ends as the remote's.

The remote is a small line editor that echoes the way readline does (insert in the middle,
backspace, left and right), so its echo is what the predictor has to match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from termkeep.terminal.emulator import Emulator
from termkeep.terminal.predict import MIN_TIMEOUT, PredictMode, Predictor
from termkeep.terminal.predict_overlay import char_width, overlaid_row

BACKSPACE, LEFT, RIGHT = "\x7f", "\x1b[D", "\x1b[C"
KEYS = st.sampled_from(["a", "b", "z", " ", "é", "日", "本", BACKSPACE, LEFT, RIGHT, "\r", "\t"])


@dataclass
class LineEditor:
    """What a shell's line editor echoes for each key."""

    line: list[str] = field(default_factory=list)
    position: int = 0

    def key(self, key: str) -> str:
        if key == BACKSPACE:
            return self._backspace()
        if key == LEFT:
            return self._left()
        if key == RIGHT:
            return self._right()
        if key == "\r":
            self.line, self.position = [], 0
            return "\r\n$ "
        if key == "\t":
            return "\x07"  # nothing to complete
        rest = self.line[self.position :]
        self.line.insert(self.position, key)
        self.position += 1
        return key + "".join(rest) + "\b" * _width(rest)

    def _backspace(self) -> str:
        if not self.position:
            return "\x07"
        rest = self.line[self.position :]
        self.position -= 1
        removed = char_width(self.line.pop(self.position))
        return "\b" * removed + "".join(rest) + " " * removed + "\b" * (_width(rest) + removed)

    def _left(self) -> str:
        if not self.position:
            return ""
        self.position -= 1
        return "\b" * char_width(self.line[self.position])

    def _right(self) -> str:
        if self.position == len(self.line):
            return ""
        self.position += 1
        return self.line[self.position - 1]


def _width(characters: list[str]) -> int:
    return sum(char_width(character) for character in characters)


def _drawn(emulator: Emulator, predictor: Predictor) -> list[tuple[tuple[str, ...], bytes]]:
    overlay = predictor.overlay()
    rows = []
    for y, row in enumerate(emulator.snapshot().rows):
        drawn = overlaid_row(row, overlay.rows.get(y, {}))
        rows.append((drawn.graphemes, drawn.widths))
    return rows


def _screen(emulator: Emulator) -> list[tuple[tuple[str, ...], bytes]]:
    return [(row.graphemes, row.widths) for row in emulator.snapshot().rows]


def _type_with_echo(
    keys: list[str], deliveries: list[int], *, whole_echoes: bool, rows: int = 20
) -> tuple[Emulator, Predictor, float]:
    """Type ``keys`` at a prompt while the remote's echo arrives between keys, the rest at the
    end. With ``whole_echoes``, each delivery is the echo of that many keys (a key's echo is
    one write, so one packet) and the next prompt is drawn before a key is typed after
    Enter; otherwise each delivery is that many characters, cut anywhere."""
    emulator = Emulator(40, rows, write=lambda _data: None, scrollback_lines=0)
    predictor = Predictor(PredictMode.ALWAYS)
    predictor.rtt_sample(0.05)
    editor = LineEditor()
    now = 10.0
    emulator.feed(b"$ ")
    in_flight: list[str] = []
    steps = iter(deliveries)
    for key in keys:
        predictor.typed(key.encode(), emulator.snapshot(), now)
        in_flight.append(editor.key(key))
        count = next(steps, 0)
        if whole_echoes:
            if key == "\r":
                count = len(in_flight)
            pieces, in_flight = in_flight[:count], in_flight[count:]
            piece = "".join(pieces)
        else:
            text = "".join(in_flight)
            piece, in_flight = text[:count], [text[count:]]
        if piece:
            emulator.feed(piece.encode())
            predictor.observe(emulator.snapshot(), now)
        now += 0.01
    emulator.feed("".join(in_flight).encode())
    predictor.observe(emulator.snapshot(), now)
    return emulator, predictor, now


DELIVERIES = st.lists(st.integers(min_value=0, max_value=6), max_size=40)


@settings(max_examples=150, deadline=None)
@given(keys=st.lists(KEYS, max_size=16), deliveries=DELIVERIES)
def test_once_the_echo_is_complete_and_the_timeout_passed_the_screen_is_the_remotes(
    keys: list[str], deliveries: list[int]
) -> None:
    emulator, predictor, now = _type_with_echo(keys, deliveries, whole_echoes=False, rows=3)
    predictor.observe(emulator.snapshot(), now + 2 * MIN_TIMEOUT + 1.0)
    assert _drawn(emulator, predictor) == _screen(emulator)
    assert predictor.overlay().cursor is None


@settings(max_examples=150, deadline=None)
@given(keys=st.lists(KEYS, max_size=16), deliveries=DELIVERIES)
def test_a_complete_echo_leaves_the_remote_screen_without_waiting(
    keys: list[str], deliveries: list[int]
) -> None:
    # When each key's echo arrives whole and nothing is typed ahead of a prompt, the echo
    # alone settles every guess. The screen is tall enough that Enter never scrolls: a scroll
    # in the same frame as a pending echo, an echo cut in the middle or keys typed ahead of
    # a prompt can leave a guess that only the timeout settles (the property above).
    emulator, predictor, _now = _type_with_echo(keys, deliveries, whole_echoes=True)
    assert _drawn(emulator, predictor) == _screen(emulator)
    cursor = emulator.snapshot().cursor
    assert cursor is not None
    assert predictor.overlay().cursor in (None, (cursor.x, cursor.y))


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("key"), KEYS),
            st.tuples(st.just("remote"), st.text(alphabet="abz 日\b\r\n\x1b[K", max_size=6)),
        ),
        max_size=30,
    )
)
def test_any_remote_after_the_timeout_leaves_exactly_the_remote_screen(
    steps: list[tuple[str, str]],
) -> None:
    emulator = Emulator(12, 3, write=lambda _data: None, scrollback_lines=0)
    predictor = Predictor(PredictMode.ALWAYS)
    predictor.rtt_sample(0.2)
    now = 10.0
    emulator.feed(b"$ ")
    for action, value in steps:
        if action == "key":
            predictor.typed(value.encode(), emulator.snapshot(), now)
        else:
            emulator.feed(value.encode())
            predictor.observe(emulator.snapshot(), now)
        now += 0.02
    predictor.observe(emulator.snapshot(), now + 2 * MIN_TIMEOUT + 1.0)
    assert _drawn(emulator, predictor) == _screen(emulator)
    assert predictor.overlay().cursor is None
