"""The history page and search commands: one sh -c script, every word quoted, line counts
bounded; the search run for real against a private tmux server."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from termkeep.tmux.scrollback import (
    MAX_PAGE_LINES,
    PaneExtent,
    ScrollbackError,
    SearchAnswer,
    page_command,
    parse_page,
    parse_search,
    search_command,
)
from tests.fixtures.waiting import wait_until


@pytest.mark.parametrize("name", ["plain", "with space", "it's", "$(rm -rf ~)", "a;b|c&d", "-x"])
def test_odd_session_names_reach_tmux_as_one_word(name: str) -> None:
    outer = shlex.split(page_command(name, -300, 999))
    assert outer[:2] == ["sh", "-c"]
    script = outer[2]
    tmux, _, head = script.partition(" | ")
    # One tmux command list: the extent and the capture are taken in the same server turn.
    assert shlex.split(tmux) == [
        "tmux", "display-message", "-p", "-t", f"={name}:",
        "#{history_size} #{history_limit} #{pane_height} #{pane_width} #{alternate_on}", ";",
        "capture-pane", "-p", "-e", "-t", f"={name}:", "-S", "-300", "-E", "999",
    ]  # fmt: skip
    assert shlex.split(head)[:2] == ["head", "-c"]


def test_line_counts_are_bounded() -> None:
    with pytest.raises(ValueError, match="at most"):
        page_command("s", -MAX_PAGE_LINES - 10, -1)
    with pytest.raises(ValueError, match="empty"):
        page_command("s", 5, 4)


def test_parse_page_reads_the_extent_and_keeps_bytes() -> None:
    page = parse_page(b"1200 2000 24 80 0\n\x1b[31mred\x1b[0m\n\xff\xfe\n\n", b"", 0)
    assert page.extent == PaneExtent(1200, 2000, 24, 80)
    assert parse_page(b"0 2000 24 80 1\n", b"", 0).extent.full_screen  # less, vim
    assert page.data == b"\x1b[31mred\x1b[0m\n\xff\xfe\n\n"
    assert page.rows() == [b"\x1b[31mred\x1b[0m", b"\xff\xfe", b""]  # one line a row


def test_tmux_refusal_is_a_clear_error() -> None:
    with pytest.raises(ScrollbackError, match="can't find session"):
        parse_page(b"", b"can't find session: =gone:\n", 1)


def _tmux(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["tmux", "-f", "/dev/null", *args], env=env, capture_output=True, text=True, timeout=10,
        check=True,
    )  # fmt: skip
    return done.stdout


@pytest.fixture
def pane() -> Iterator[dict[str, str]]:
    """A private tmux server with session "t": 80x10, /bin/sh, 500 numbered rows printed."""
    tmpdir = tempfile.mkdtemp(prefix="tk-tmux-", dir="/tmp")
    env = {**{k: v for k, v in os.environ.items() if k != "TMUX"}, "TMUX_TMPDIR": tmpdir}
    _tmux(env, "new-session", "-d", "-s", "t", "-x", "80", "-y", "10", "/bin/sh")
    command = "seq -f 'Line %g' 1 500; echo done-$((1+1))"
    _tmux(env, "send-keys", "-t", "=t:", command, "Enter")
    wait_until(
        lambda: "done-2" in _tmux(env, "capture-pane", "-p", "-t", "=t:"), timeout=10, what="rows"
    )
    yield env
    subprocess.run(["tmux", "kill-server"], env=env, timeout=10, check=False)
    shutil.rmtree(tmpdir, ignore_errors=True)


def run_search(env: dict[str, str], pattern: str, cursor: int, *, forward: bool) -> SearchAnswer:
    command = search_command("t", cursor, forward=forward, context=2)
    done = subprocess.run(
        ["sh", "-c", command], input=pattern.encode() + b"\n", capture_output=True, env=env,
        timeout=10, check=False,
    )  # fmt: skip
    return parse_search(done.stdout, done.stderr, done.returncode, context=2)


def test_the_search_answers_with_rows_nearest_first_and_a_page_around_the_first(
    pane: dict[str, str],
) -> None:
    answer = run_search(pane, "line 42", 0, forward=False)
    history = answer.extent.history
    # Row of "Line N" is N - 1 rows below the top row (the command line), so -history + N.
    line_42, line_420 = -history + 42, -history + 420
    assert answer.candidates[:2] == tuple(
        sorted([line_42, line_420, *(-history + n for n in range(421, 430))], reverse=True)[:2]
    )
    assert set(answer.candidates) == {line_42, line_420, *(-history + n for n in range(421, 430))}
    # Case folded on the server (the client checks the case again); the page is 2 rows
    # either side of the first candidate.
    page = answer.page
    first = answer.candidates[0]
    assert page is not None
    assert page.rows()[2] == b"Line 429"
    assert first == -history + 429
    assert answer.page_first == first - 2
    # Forward from the top, wrapping round: the oldest first.
    forward = run_search(pane, "LINE 42", -history, forward=True)
    assert forward.candidates[0] == line_42


@pytest.mark.parametrize("pattern", ["'; touch /tmp/termkeep-pwned; '", "$(x)", "a\\b", "!x", "%s"])
def test_any_pattern_reaches_the_filter_as_plain_text(pane: dict[str, str], pattern: str) -> None:
    answer = run_search(pane, pattern, 0, forward=True)
    assert answer.candidates == ()
    assert answer.page is None
    assert not Path("/tmp/termkeep-pwned").exists()


def test_a_search_of_a_missing_session_says_tmux_s_words(pane: dict[str, str]) -> None:
    command = search_command("gone", 0, forward=True, context=2)
    done = subprocess.run(
        ["sh", "-c", command], input=b"x\n", capture_output=True, env=pane, timeout=10, check=False
    )
    with pytest.raises(ScrollbackError, match="can't find"):
        parse_search(done.stdout, done.stderr, done.returncode, context=2)
