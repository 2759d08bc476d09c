"""The history page command: one sh -c script, every word quoted, line counts bounded."""

from __future__ import annotations

import shlex

import pytest

from termkeep.tmux.scrollback import MAX_PAGE_LINES, ScrollbackError, page_command, parse_page


@pytest.mark.parametrize("name", ["plain", "with space", "it's", "$(rm -rf ~)", "a;b|c&d", "-x"])
def test_odd_session_names_reach_tmux_as_one_word(name: str) -> None:
    outer = shlex.split(page_command(name, -300, 999))
    assert outer[:2] == ["sh", "-c"]
    script = outer[2]
    tmux, _, head = script.partition(" | ")
    # One tmux command list: the extent and the capture are taken in the same server turn.
    assert shlex.split(tmux) == [
        "tmux", "display-message", "-p", "-t", f"={name}:",
        "#{history_size} #{history_limit} #{pane_height}", ";",
        "capture-pane", "-p", "-e", "-J", "-t", f"={name}:", "-S", "-300", "-E", "999",
    ]  # fmt: skip
    assert shlex.split(head)[:2] == ["head", "-c"]


def test_line_counts_are_bounded() -> None:
    with pytest.raises(ValueError, match="at most"):
        page_command("s", -MAX_PAGE_LINES - 10, -1)
    with pytest.raises(ValueError, match="empty"):
        page_command("s", 5, 4)


def test_parse_page_reads_the_extent_and_keeps_bytes() -> None:
    page = parse_page(b"1200 2000 24\n\x1b[31mred\x1b[0m\n\xff\xfe\n", b"", 0)
    assert (page.extent.history, page.extent.limit, page.extent.height) == (1200, 2000, 24)
    assert page.data == b"\x1b[31mred\x1b[0m\n\xff\xfe\n"


def test_tmux_refusal_is_a_clear_error() -> None:
    with pytest.raises(ScrollbackError, match="can't find session"):
        parse_page(b"", b"can't find session: =gone:\n", 1)
