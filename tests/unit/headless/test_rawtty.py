"""The local terminal of ``termkeep attach``, on a real pty: raw mode comes and goes as it
should, and termkeep's own lines cannot carry a server's terminal controls."""

from __future__ import annotations

import os
import pty
import select
import termios
from collections.abc import Iterator

import pytest

from termkeep.headless.rawtty import LocalTerminal


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, int]]:
    master, slave = pty.openpty()
    yield master, slave
    os.close(slave)
    os.close(master)


def cooked(fd: int) -> bool:
    local_modes = termios.tcgetattr(fd)[3]
    return bool(local_modes & termios.ECHO and local_modes & termios.ICANON)


def read_all(master: int) -> bytes:
    data = b""
    while select.select([master], [], [], 0.5)[0]:
        chunk = os.read(master, 4096)
        if not chunk:
            break
        data += chunk
    return data


async def test_a_prompt_cut_short_by_the_stop_leaves_the_terminal_cooked(
    pty_pair: tuple[int, int],
) -> None:
    _master, slave = pty_pair
    terminal = LocalTerminal(slave, slave)
    terminal.enter_raw()
    assert not cooked(slave)
    async with terminal.cooked():  # a password prompt on a reconnect
        assert cooked(slave)
        terminal.close()  # the stop's cleanup runs while the prompt is still open
    assert cooked(slave)
    terminal.enter_raw()  # a late "attached" after the stop changes nothing either
    assert cooked(slave)


def test_termkeeps_lines_show_server_controls_in_octal(pty_pair: tuple[int, int]) -> None:
    master, slave = pty_pair
    terminal = LocalTerminal(slave, slave)
    terminal.enter_raw()  # as while attached: the bytes arrive as written
    terminal.message("could not connect: bye\x1b]52;c;eA==\x07\x9b2J\nsecond line")
    shown = read_all(master)
    assert shown == (
        b"\r\n[termkeep] could not connect: bye\\033]52;c;eA==\\007\\302\\2332J\r\nsecond line\r\n"
    )
