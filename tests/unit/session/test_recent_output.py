"""The screen ``termkeep attach`` showed, replayed from its last output only at a drop."""

from __future__ import annotations

from termkeep.session.away import RECENT_BYTES, RecentOutput


def test_the_screen_is_the_one_the_last_output_draws() -> None:
    recent = RecentOutput((40, 6))
    recent.feed(b"\x1b[H\x1b[2J")
    for number in range(1, 200_001):  # far more than is kept
        recent.feed(f"n{number}\r\n".encode())
    seen = recent.seen()
    assert seen is not None
    # The cursor is on the row after the last line: the rows above it are the last five.
    assert seen.rows == tuple(f"n{number}" for number in range(199_996, 200_001))


def test_a_resize_replays_at_the_new_size() -> None:
    recent = RecentOutput((40, 6))
    recent.resize(40, 3)
    recent.feed(b"a\r\nb\r\nc\r\nd\r\n")
    seen = recent.seen()
    assert seen is not None
    assert seen.rows == ("c", "d")


def test_a_partial_escape_at_the_cut_does_not_matter() -> None:
    recent = RecentOutput((40, 4))
    line = b"\x1b[1;31mred\x1b[0m\r\n"
    recent.feed(line * (3 * RECENT_BYTES // len(line)))
    seen = recent.seen()
    assert seen is not None
    assert seen.rows == ("red", "red", "red")
