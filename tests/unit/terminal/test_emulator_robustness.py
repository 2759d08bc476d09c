"""Garbage in, nothing breaks; and the screen never depends on how bytes were chunked."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from termkeep.terminal.clipboard import ClipboardWrite
from termkeep.terminal.emulator import CellStyle, Emulator

type ScreenState = tuple[object, ...]


class Observed:
    """An emulator plus everything it reported, for comparing two runs."""

    def __init__(self, columns: int = 40, rows: int = 12) -> None:
        self.replies: list[bytes] = []
        self.titles: list[str] = []
        self.clipboard: list[ClipboardWrite] = []
        self.emulator = Emulator(columns, rows, write=self.replies.append, scrollback_lines=200)
        self.emulator.on_title = self.titles.append
        self.emulator.on_clipboard_write = self.clipboard.append

    def state(self) -> ScreenState:
        snapshot = self.emulator.snapshot()
        cells: list[tuple[tuple[str, ...], bytes, tuple[CellStyle, ...]]] = [
            (row.graphemes, row.widths, tuple(snapshot.styles[i] for i in row.styles))
            for row in snapshot.rows
        ]
        return (
            cells,
            snapshot.cursor,
            self.emulator.modes(),
            b"".join(self.replies),
            self.titles,
            self.clipboard,
        )


def assert_cursor_in_bounds(emulator: Emulator) -> None:
    columns, rows = emulator.size
    cursor = emulator.snapshot().cursor
    if cursor is not None:
        assert 0 <= cursor.x < columns
        assert 0 <= cursor.y < rows


def structured_fragment(rng: random.Random) -> bytes:
    """A plausible control sequence with random parameters, or a UTF-8 fragment."""
    number = rng.randrange(0, 10_000)
    kind = rng.randrange(12)
    final = rng.choice(b"@ABCDEFGHIJKLMPSTXZ`abcdefghlmnqrstu")
    fragments = [
        b"\x1b[%d;%d%c" % (number, rng.randrange(300), final),
        b"\x1b[?%d%c" % (rng.choice([1, 6, 7, 25, 47, 1000, 1006, 1049, 2004, 2026]), final),
        b"\x1b]%d;%s\x07" % (rng.choice([0, 2, 4, 8, 52]), rng.randbytes(rng.randrange(20))),
        b"\x1bP%s\x1b\\" % rng.randbytes(rng.randrange(30)),
        rng.choice(["中文", "e\u0301", "🙂", "│─┼", "\u200d", "\ufe0f"]).encode(),
        rng.randbytes(rng.randrange(1, 5)),
        b"\x1b%c" % rng.choice(b"78=>cDEHMNZ()#"),
        b"\x1b[%d;%dr" % (rng.randrange(30), rng.randrange(30)),
        b"\x1b[%d S\x1b[%dT" % (rng.randrange(50), rng.randrange(50)),
        b"\r\n",
        b"\x1b[38;2;%d;%d;%dm" % (rng.randrange(300), rng.randrange(300), rng.randrange(300)),
        b"\x1b[%d q" % rng.randrange(9),
    ]
    return fragments[kind]


def test_a_million_random_and_structured_bytes_break_nothing() -> None:
    rng = random.Random(20261126)  # noqa: S311 -- seeded for a reproducible run
    observed = Observed()
    emulator = observed.emulator
    fed = 0
    while fed < 1_000_000:
        chunk = b"".join(structured_fragment(rng) for _ in range(40)) + rng.randbytes(
            rng.randrange(400)
        )
        emulator.feed(chunk)
        fed += len(chunk)
        if rng.random() < 0.02:
            emulator.resize(rng.randrange(1, 200), rng.randrange(1, 80))
        if rng.random() < 0.05:
            emulator.scroll_viewport(rng.randrange(-50, 50))
        assert_cursor_in_bounds(emulator)
    assert fed >= 1_000_000
    assert len(emulator.snapshot().rows) == emulator.size[1]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.integers(1, 120), st.integers(1, 50))
def test_any_bytes_at_any_size_keep_the_cursor_in_bounds(
    data: bytes, columns: int, rows: int
) -> None:
    observed = Observed(columns, rows)
    observed.emulator.feed(data)
    assert_cursor_in_bounds(observed.emulator)
    assert len(observed.emulator.snapshot().rows) == rows


STRUCTURED = (
    "plain \x1b[1;31mred\x1b[0m 中文 e\u0301 🙂\r\n"
    "\x1b]0;a title\x07\x1b]52;c;aGVsbG8=\x07\x1b[6n\x1b[c"
    "\x1b[2;8r\x1b[5;1Hscrolled\x1b[3S\x1b[2T\x1b[r\x1b[?1049h\x1b[Halt\x1b[?1049l"
    "\x1b(0lqqk\x1b(B\x1b[38;2;10;20;30mtrue\x1b[48;5;200mcolour\x1b[m\x1b[4 q"
    "\x1bP+q544e\x1b\\\x1b[?2004h\x1b[>1u\xff\xfe bad utf8 \xe4\xb8"
).encode("utf-8", errors="surrogateescape")


def replay(chunks: list[bytes]) -> ScreenState:
    observed = Observed()
    for chunk in chunks:
        observed.emulator.feed(chunk)
    return observed.state()


def test_split_at_every_offset_gives_the_same_screen() -> None:
    whole = replay([STRUCTURED])
    for offset in range(len(STRUCTURED) + 1):
        assert replay([STRUCTURED[:offset], STRUCTURED[offset:]]) == whole, offset


def test_byte_at_a_time_gives_the_same_screen() -> None:
    assert replay([bytes([byte]) for byte in STRUCTURED]) == replay([STRUCTURED])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, len(STRUCTURED)), max_size=30))
def test_random_chunkings_give_the_same_screen(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(STRUCTURED)]
    chunks = [STRUCTURED[a:b] for a, b in itertools.pairwise(bounds)]
    assert replay(chunks) == replay([STRUCTURED])
