"""Counting what a pane printed while termkeep was away: from the last lines seen, found
again in the pane's history, never from the history's size; when they cannot be placed for
sure, the notice says so instead of giving a number. The pane report is read from a real
tmux."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from termkeep.tmux.away import (
    CountKind,
    PaneNow,
    PaneRows,
    SeenScreen,
    away_command,
    away_text,
    count_new_lines,
    foreground_text,
    lines_text,
    parse_away,
)
from tests.fixtures.waiting import wait_until

HEIGHT = 5


def pane(
    lines: list[str],
    *,
    history: int | None = None,
    limit: int = 2000,
    alternate: bool = False,
    in_mode: bool = False,
) -> PaneNow:
    """A pane whose output so far is ``lines`` (one row each) with the cursor on the row
    after them, as a read of at most ``history`` rows above a ``HEIGHT``-row screen shows it.
    ``history`` is tmux's count (what the history holds); rows above it were dropped."""
    on_screen = lines[-(HEIGHT - 1) :] if len(lines) >= HEIGHT else lines
    above_rows = lines[: len(lines) - len(on_screen)]
    held = len(above_rows) if history is None else history
    kept = above_rows[len(above_rows) - held :] if held else []
    screen = [*on_screen, ""] + [""] * (HEIGHT - len(on_screen) - 1)
    return PaneNow(
        history=held,
        limit=limit,
        cursor_y=len(on_screen),
        alternate=alternate,
        in_mode=in_mode,
        foreground="bash",
        default_shell="bash",
        rows=pane_rows([*kept, *screen]),
        above=len(kept),
    )


def pane_rows(rows: list[str]) -> PaneRows:
    return PaneRows("\n".join(rows), len(rows))


def seen(lines: list[str]) -> SeenScreen:
    """The screen rows above the cursor when the link dropped (the last HEIGHT - 1 lines)."""
    return SeenScreen(tuple(lines[-(HEIGHT - 1) :]))


def numbers(first: int, last: int) -> list[str]:
    return [str(n) for n in range(first, last + 1)]


def test_the_lines_after_the_last_seen_are_counted() -> None:
    count = count_new_lines(seen(numbers(1, 40)), pane(numbers(1, 340)))
    assert count.kind is CountKind.COUNTED
    assert count.lines == 300
    # The first unseen line ("41") is this far above the screen's top: 340 lines, the last
    # 4 on the screen, so "41" is history row -(340 - 4 - 40).
    assert count.first_unseen == -(340 - 4 - 40)


def test_nothing_new_is_zero() -> None:
    count = count_new_lines(seen(numbers(1, 40)), pane(numbers(1, 40)))
    assert (count.kind, count.lines) == (CountKind.COUNTED, 0)
    assert lines_text(count) == "no new output"


def test_a_full_history_does_not_change_the_count() -> None:
    # 3,000 lines into a history of 1,000: the size says 1,000 before and after, the count
    # still comes from where the last line seen is found.
    lines = numbers(1, 3000)
    count = count_new_lines(seen(numbers(1, 2500)), pane(lines, history=1000, limit=1000))
    assert (count.kind, count.lines) == (CountKind.COUNTED, 500)
    assert count.history_full


def test_a_repeated_last_line_is_placed_by_the_lines_before_it() -> None:
    before = ["build 1", "build 2", "build 3", "ok", "ok"]
    after = [*before, "ok", "ok", "ok", "done"]
    count = count_new_lines(seen(before), pane(["$ make", *after]))
    assert (count.kind, count.lines) == (CountKind.COUNTED, 4)


def test_output_that_repeats_the_whole_screen_is_not_counted() -> None:
    count = count_new_lines(seen(["y"] * 10), pane(["y"] * 50))
    assert count.kind is CountKind.REPEATED
    assert count.lines is None
    assert "not counted" in lines_text(count)


def test_lines_gone_from_a_full_history_are_not_a_number() -> None:
    count = count_new_lines(seen(numbers(1, 40)), pane(numbers(1, 5000), history=1000, limit=1000))
    assert count.kind is CountKind.NOT_FOUND
    assert count.lines is None
    assert lines_text(count) == (
        "new lines not counted: the last line seen is no longer in the history "
        "(full at 1000 lines: more may have scrolled past)"
    )


def test_a_cleared_screen_is_not_found() -> None:
    count = count_new_lines(seen(numbers(1, 40)), pane(["$ clear", "fresh"]))
    assert count.kind is CountKind.NOT_FOUND
    assert lines_text(count) == "new lines not counted: the last line seen is not in the history"


def test_a_top_row_that_is_not_the_panes_own_is_left_out() -> None:
    # tmux's status line at the top of the screen is no line of the pane.
    status_on_top = SeenScreen(("[tk] 0:bash*", *numbers(37, 40)))
    count = count_new_lines(status_on_top, pane(numbers(1, 90)))
    assert (count.kind, count.lines) == (CountKind.COUNTED, 50)


def test_full_screen_programs_and_an_empty_screen_are_not_counted() -> None:
    assert count_new_lines(seen(["x"]), pane(["x"], alternate=True)).kind is CountKind.FULL_SCREEN
    in_copy_mode = count_new_lines(seen(["x"]), pane(["x", "y"], in_mode=True))
    assert in_copy_mode.kind is CountKind.IN_MODE
    assert lines_text(in_copy_mode) == "new lines not counted: the pane is in copy mode"
    assert count_new_lines(SeenScreen(("", "  ")), pane(["x"])).kind is CountKind.NOTHING_SEEN


def test_trailing_blanks_do_not_matter() -> None:
    count = count_new_lines(SeenScreen(("a  ", "b")), pane(["a", "b", "c"]))
    assert (count.kind, count.lines) == (CountKind.COUNTED, 1)


@pytest.mark.parametrize(
    ("before", "now", "said"),
    [
        ("seq", "bash", "seq ended"),
        ("bash", "make", "make started"),
        ("make", "make", "make still running"),
        ("bash", "bash", ""),
        ("vim", "less", "vim ended, less in front"),
        (None, "bash", ""),
    ],
)
def test_what_runs_in_front(before: str | None, now: str, said: str) -> None:
    assert foreground_text(before, now, "bash") == said


def test_the_notice_is_one_line() -> None:
    assert away_text(42.0, "340 lines printed", "seq ended") == (
        "while you were away (42 s): 340 lines printed, seq ended"
    )
    assert away_text(7.0, "", "") == "while you were away (7.0 s)"


@pytest.mark.parametrize("header", [b"can't find session: x", b"1 2 3 4 x bash bash"])
def test_a_report_that_is_not_one_is_refused(header: bytes) -> None:
    with pytest.raises(ValueError, match="not a pane report"):
        parse_away(header + b"\n")


@pytest.fixture
def tmux_env() -> Iterator[dict[str, str]]:
    tmpdir = tempfile.mkdtemp(prefix="tk-away-", dir="/tmp")
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}
    env["TMUX_TMPDIR"] = tmpdir
    yield env
    subprocess.run(["tmux", "kill-server"], env=env, capture_output=True, timeout=10, check=False)
    shutil.rmtree(tmpdir, ignore_errors=True)


def test_the_pane_report_of_a_real_tmux(tmux_env: dict[str, str]) -> None:
    def tmux(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["tmux", *args], env=tmux_env, capture_output=True, timeout=10, check=False
        )

    assert tmux("new-session", "-d", "-s", "aw", "-x", "40", "-y", "6", "sh").returncode == 0
    tmux("send-keys", "-t", "=aw:", "clear; seq 1 30", "Enter")

    def printed() -> bool:
        return b"30" in tmux("capture-pane", "-p", "-t", "=aw:").stdout

    wait_until(printed, timeout=10, what="seq's output")
    result = subprocess.run(
        ["sh", "-c", away_command("aw")], env=tmux_env, capture_output=True, timeout=10, check=False
    )
    now = parse_away(result.stdout)
    assert now.foreground == "sh"
    assert not now.alternate
    assert not now.in_mode
    assert now.rows[now.cursor_index - 1] == "30"
    count = count_new_lines(SeenScreen(("1", "2", "3")), now)
    assert (count.kind, count.lines) == (CountKind.COUNTED, 27)


def reference_block_ends(block: list[str], rows: list[str]) -> list[int]:
    """Every index where ``block`` ends in ``rows``, from the last, at most two: the plain
    way, a row at a time (what PaneRows does on one string instead)."""
    size = len(block)
    ends = [
        end for end in range(len(rows) - 1, size - 2, -1) if rows[end - size + 1 : end + 1] == block
    ]
    return ends[:2]


ROW = st.sampled_from(["", "ok", "a", "a b", "é"])


@given(rows=st.lists(ROW, max_size=12), block=st.lists(ROW, min_size=1, max_size=4), data=st.data())
def test_a_block_is_found_in_the_rows_as_row_by_row_matching_finds_it(
    rows: list[str], block: list[str], data: st.DataObject
) -> None:
    before = data.draw(st.integers(min_value=0, max_value=len(rows) + 2))
    found = pane_rows(rows).block_ends(block, before)
    assert found == reference_block_ends(block, rows[:before])


@given(rows=st.lists(ROW, max_size=12))
def test_each_row_reads_back_as_it_was(rows: list[str]) -> None:
    held = pane_rows(rows)
    assert [held[index] for index in range(len(held))] == rows
    with pytest.raises(IndexError):
        held[len(rows)]


def test_the_report_s_rows_lose_trailing_blanks_and_keep_empty_rows() -> None:
    # An ideographic space is whitespace to str.rstrip too: the same rule for both sides.
    now = parse_away("0 2000 1 0 0 sh sh\nfirst  \t\n\nlast\u3000 \n".encode())
    assert [now.rows[index] for index in range(len(now.rows))] == ["first", "", "last"]
    assert len(parse_away(b"0 2000 0 0 0 sh sh\n").rows) == 0
    assert len(parse_away(b"0 2000 0 0 0 sh sh\n\n").rows) == 1
