"""The stop semantics of the headless commands, on a real event loop with real signals.

The process-level tests (tests/integration/test_headless_stop.py) show the commands stop;
these pin down why: the outcome comes before any output, cleanup is bounded, a second
signal stops waiting for it, and a stop wins over a start that is still waiting for the user.
"""

from __future__ import annotations

import asyncio
import os
import pty
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from termkeep.platform.signals import STOP_SIGNALS
from termkeep.platform.tty import write_fully
from termkeep.session import stop as stop_module
from termkeep.session.stop import EXIT_GAVE_UP, HeadlessRun, Stop


@pytest.fixture(autouse=True)
def signals_restored() -> Iterator[None]:
    """The test process's own handlers are back after each test (pytest's plugin sets some)."""
    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    yield
    assert {signum: signal.getsignal(signum) for signum in before} == before


async def nothing() -> None:
    """A start or close that has nothing to do."""


async def forever() -> None:
    """A start stuck at a prompt, or a close stuck on a dead connection."""
    await asyncio.Event().wait()


def signal_soon(signum: signal.Signals) -> None:
    """Deliver ``signum`` to this process once the loop runs the command."""
    asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signum)


async def test_a_message_that_cannot_be_shown_does_not_keep_the_outcome_from_settling() -> None:
    def dead_terminal(_text: str) -> None:
        raise OSError(5, "Input/output error")

    stop = Stop(dead_terminal)
    asyncio.get_running_loop().call_soon(stop.finish, 7, "bye")
    assert await stop.run(nothing, nothing) == 7
    assert stop.finished


async def test_the_first_outcome_wins() -> None:
    said: list[str] = []
    stop = Stop(said.append)
    stop.finish(0, None)
    stop.finish(EXIT_GAVE_UP, "too late")
    assert await stop.run(nothing, nothing) == 0
    assert said == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
async def test_a_stop_signal_ends_a_start_that_waits_for_the_user(
    signum: signal.Signals,
) -> None:
    said: list[str] = []
    cancelled: list[bool] = []

    async def prompt_forever() -> None:
        try:
            await forever()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    stop = Stop(said.append)
    signal_soon(signum)
    assert await stop.run(prompt_forever, nothing) == EXIT_GAVE_UP
    assert said == [f"stopped by {signum.name}"]
    assert cancelled == [True]


async def test_cleanup_that_hangs_does_not_hold_the_exit() -> None:
    stop = Stop(lambda _text: None)
    signal_soon(signal.SIGTERM)
    assert await stop.run(nothing, forever) == EXIT_GAVE_UP


async def test_a_second_signal_stops_waiting_for_cleanup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stop_module, "CLOSE_WITHIN", 3600.0)  # only the signal can end it
    closing = asyncio.Event()

    async def close_forever() -> None:
        closing.set()
        await forever()

    async def signal_again() -> None:
        await closing.wait()
        os.kill(os.getpid(), signal.SIGTERM)

    stop = Stop(lambda _text: None)
    signal_soon(signal.SIGTERM)
    again = asyncio.create_task(signal_again())
    assert await stop.run(nothing, close_forever) == EXIT_GAVE_UP
    await again


class Core:
    """A session core as a headless run sees it: something started, then closed."""

    def __init__(self, name: str, log: list[str], *, start_forever: bool = False) -> None:
        self.name = name
        self.log = log
        self.start_forever = start_forever

    async def start(self) -> None:
        self.log.append(f"start {self.name}")
        if self.start_forever:
            await forever()  # a password prompt nobody answers

    async def close(self) -> None:
        self.log.append(f"close {self.name}")
        if self.name == "broken":
            raise OSError("its connection was already gone")


async def test_a_headless_run_starts_cores_in_order_and_closes_all_after_the_release() -> None:
    log: list[str] = []
    run = HeadlessRun(lambda _text: None, [Core("broken", log)])
    run.add(Core("second", log))
    asyncio.get_running_loop().call_soon(run.finish, 0)
    assert await run.run(release=lambda: log.append("release")) == 0
    # The terminal goes back to the user first; a close that fails keeps no other open.
    assert log == ["start broken", "start second", "release", "close broken", "close second"]


async def test_a_stop_signal_ends_a_headless_run_whose_core_waits_at_a_prompt() -> None:
    log: list[str] = []
    said: list[str] = []
    run = HeadlessRun(said.append, [Core("first", log, start_forever=True), Core("next", log)])
    signal_soon(signal.SIGTERM)
    assert await run.run() == EXIT_GAVE_UP
    assert said == ["stopped by SIGTERM"]
    assert log == ["start first", "close first", "close next"]


def test_a_write_to_a_closed_pipe_or_a_hung_up_terminal_fails_quietly() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        assert not write_fully(write_end, b"nobody reads this\n")  # EPIPE
    finally:
        os.close(write_end)
    master, slave = pty.openpty()
    os.close(master)  # the terminal window closed
    try:
        assert not write_fully(slave, b"[termkeep] stopped by SIGHUP\n")  # EIO
    finally:
        os.close(slave)


STUCK_THREAD = """
import asyncio, logging, threading
from termkeep.session.stop import run_to_exit

async def main():
    never = threading.Event()
    asyncio.get_running_loop().run_in_executor(None, never.wait)  # a resolver that hangs
    logging.getLogger("asyncssh").warning("server says \\x1b]2;pwned\\x07 bye")
    return 3

raise SystemExit(run_to_exit(main()))
"""


def test_a_busy_worker_thread_does_not_hold_the_exit() -> None:
    """asyncio.run would wait for the thread (for good, once the interpreter exits); the
    command's code comes back, and a warning that quotes a server is shown with ssh's rules."""
    result = subprocess.run(
        [sys.executable, "-c", STUCK_THREAD], capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 3
    assert result.stderr == b"server says \\033]2;pwned\\007 bye\n"
