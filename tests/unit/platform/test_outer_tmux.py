"""Asking the tmux termkeep runs in whether it passes notification escapes on: a real tmux
server on its own socket, found through ``$TMUX`` as a program in its pane finds it."""

from __future__ import annotations

import shutil

import pytest

from termkeep.platform.outer_tmux import outer_tmux_socket, passthrough_allowed
from tests.fixtures.outer_tmux import outer_tmux

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


async def test_allow_passthrough_off_then_on() -> None:
    with outer_tmux() as server:
        server.allow_passthrough("off")
        assert await passthrough_allowed(server.environ) is False
        server.allow_passthrough("on")
        assert await passthrough_allowed(server.environ) is True


async def test_the_pane_option_wins_over_the_global_one() -> None:
    with outer_tmux() as server:
        server.allow_passthrough("on")
        server.tmux(
            "set-option", "-p", "-t", server.environ["TMUX_PANE"], "allow-passthrough", "off"
        )
        assert await passthrough_allowed(server.environ) is False


async def test_outside_tmux_or_with_a_dead_socket_it_cannot_tell() -> None:
    assert outer_tmux_socket({}) is None
    assert await passthrough_allowed({}) is None
    with outer_tmux() as server:
        gone = dict(server.environ)
    # The server was killed on leaving: its socket answers nothing.
    assert await passthrough_allowed(gone) is None
