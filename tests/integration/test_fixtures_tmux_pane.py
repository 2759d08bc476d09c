"""The tmux pane fixture: its control-mode screen reader sees what capture-pane sees."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.requirements import missing_for_sshd, require
from tests.fixtures.tmux_pane import TmuxPane, tmux_pane
from tests.fixtures.waiting import wait_until

# A screen line that looks like the end of a control-mode reply must not cut the reply short.
SCREEN = "printf 'one\\n%%end 1 2 3\\nthree\\n'; sleep 60"


@pytest.fixture
def pane() -> Iterator[TmuxPane]:
    require(missing_for_sshd())  # names the tmux package when tmux is missing
    with tmux_pane(f"sh -c {SCREEN!r}", size=(40, 6)) as opened:
        opened.wait_for("three", timeout=10)
        yield opened


def test_the_screen_reader_reads_what_capture_pane_reads(pane: TmuxPane) -> None:
    with pane.screen_reader() as reader:
        screen = reader.screen()
        assert screen == pane.screen()
        assert screen.splitlines()[:3] == ["one", "%end 1 2 3", "three"]
        assert reader.screen() == screen  # and again: replies stay in step with commands


def test_the_screen_reader_reports_a_failed_command(pane: TmuxPane) -> None:
    with pane.screen_reader() as reader:
        with pytest.raises(RuntimeError, match="can't find pane"):
            reader.screen("no-such-pane")
        assert "three" in reader.screen()


def test_the_screen_reader_leaves_no_client_behind(pane: TmuxPane) -> None:
    with pane.screen_reader():
        assert len(pane.tmux("list-clients").splitlines()) == 1
    # The server drops the client once it has seen it go: that may take a moment.
    wait_until(lambda: pane.tmux("list-clients") == "", timeout=5, what="the reader's client gone")
