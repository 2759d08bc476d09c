"""The headless prompter on a real terminal: a child process whose controlling terminal is a
pty this test drives, answering like a user would."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from termkeep.transport.prompts import HostKeyDecision, NoPrompter
from tests.fixtures.waiting import wait_until

CHILD = """
import asyncio
from termkeep.transport.prompts import TerminalPrompter

async def main():
    prompter = TerminalPrompter()
    secret = await prompter.password("root@web's password: ")
    decision = await prompter.unknown_host_key("web", 2222, "ssh-ed25519", "SHA256:abc")
    answers = await prompter.keyboard_interactive("PAM", "Two factors", [("Code: ", True)])
    print("RESULT", repr(secret), decision.value, answers, flush=True)

asyncio.run(main())
"""


class Terminal:
    """The master side of a pty whose slave is the child's controlling terminal."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.output = b""

    def read_available(self) -> bytes:
        try:
            chunk = os.read(self.fd, 4096)
        except BlockingIOError:
            return self.output
        except OSError:  # the child exited and closed the slave
            return self.output
        self.output += chunk
        return self.output

    def wait_for(self, text: str) -> None:
        wait_until(lambda: text.encode() in self.read_available(), timeout=20, what=repr(text))

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())


@pytest.fixture
def child_terminal() -> Iterator[Terminal]:
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child execs at once
        os.execv(sys.executable, [sys.executable, "-c", CHILD])  # noqa: S606
    os.set_blocking(fd, False)
    terminal = Terminal(fd)
    statuses: list[int] = []

    def exited() -> bool:
        terminal.read_available()  # drain, so the child never blocks on a full pty
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            statuses.append(status)
        return bool(statuses)

    try:
        yield terminal
        # Keep the terminal open until the child is done: closing it would hang it up.
        wait_until(exited, timeout=20, what="the child to exit")
        assert os.waitstatus_to_exitcode(statuses[0]) == 0
    finally:
        os.close(fd)
        if not statuses:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def test_terminal_prompter_asks_on_the_controlling_terminal(child_terminal: Terminal) -> None:
    child_terminal.wait_for("root@web's password: ")
    child_terminal.type("s3cret\n")
    child_terminal.wait_for("Trust it?")
    asked = child_terminal.output.decode()
    assert "s3cret" not in asked  # typed without echo
    assert "[web]:2222" in asked
    assert "SHA256:abc" in asked
    child_terminal.type("once\n")
    child_terminal.wait_for("Code: ")
    assert "Two factors" in child_terminal.output.decode()
    child_terminal.type("123456\n")
    child_terminal.wait_for("RESULT")
    wait_until(
        lambda: b"['123456']" in child_terminal.read_available(), timeout=20, what="the result"
    )
    assert "RESULT 's3cret' accept once ['123456']" in child_terminal.output.decode()


async def test_no_prompter_refuses_everything_and_keeps_messages() -> None:
    prompter = NoPrompter()
    assert await prompter.password("pw: ") is None
    assert await prompter.passphrase("/k") is None
    assert await prompter.keyboard_interactive("n", "i", [("Code: ", False)]) is None
    assert (
        await prompter.unknown_host_key("h", 22, "ssh-ed25519", "SHA256:x")
        is HostKeyDecision.REJECT
    )
    await prompter.changed_host_key("CHANGED")
    await prompter.notice("no tmux")
    assert prompter.messages == ["CHANGED", "no tmux"]


NO_TERMINAL_CHILD = """
import asyncio
from termkeep.transport.prompts import TerminalPrompter

async def main():
    prompter = TerminalPrompter()
    first = await prompter.password("pw: ")
    second = await prompter.passphrase("/k")
    print("RESULT", repr(first), repr(second), flush=True)

asyncio.run(main())
"""


def test_without_a_controlling_terminal_the_answers_come_from_stdin() -> None:
    """Like getpass: no /dev/tty (a new session, stdin a pipe) means stdin and stderr, one
    line per question."""
    result = subprocess.run(
        [sys.executable, "-c", NO_TERMINAL_CHILD],
        input=b"s3cret\nunlock\n",
        capture_output=True,
        start_new_session=True,
        timeout=30,
        check=True,
    )
    assert result.stdout == b"RESULT 's3cret' 'unlock'\n"
    assert result.stderr.startswith(b"pw: ")
