"""The emulator's answers to the remote's queries, end to end against the real sshd and tmux.

A query (a cursor position report request) is answered at once on the connection it came
over, from within the feed of the bytes that asked. tmux asks its own questions each time a
client attaches; the answers reach the new client of every reattach, not only the first.
(That a reply is not typing, no echo deadline and no ping, is shown on the state machine
itself: tests/unit/supervisor.)
"""

from __future__ import annotations

import re
from dataclasses import replace

from termkeep.config.profile import TmuxSettings
from tests.fixtures.sshd import SshServer
from tests.integration.test_reconnect import ATTACH_WAIT, RECOVERY_WAIT, opened, reconnect_profile

REPORT = re.compile(r"report=(\d+);(\d+);")
"""What the remote prints once it has read the report (the typed command does not match)."""
ASK_CURSOR = (
    "stty -echo; printf 'asking\\033[6n'; IFS= read -r -s -d R report; "
    "stty echo; printf '\\n%s=%s;\\n' report \"${report#*[}\""
)


async def test_a_cursor_report_goes_at_once_to_the_connection_that_asked(sshd: SshServer) -> None:
    profile = replace(
        reconnect_profile(sshd),
        # A plain login shell answers nothing itself: the query reaches our emulator.
        tmux=TmuxSettings(enabled=False),
    )
    async with opened(profile) as watch:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the first attach")
        await watch.run("echo ready$((40+2))", "ready42")
        watch.session.write(ASK_CURSOR.encode() + b"\r")
        await watch.until(lambda: REPORT.search(watch.screen()), ATTACH_WAIT, "the cursor report")
        found = REPORT.search(watch.screen())
        assert found is not None
        row, column = found.groups()
        report = f"{row};{column}"
        # The row and column of the cursor just after 'asking', as the emulator saw them.
        assert int(row) >= 1
        assert int(column) == len("asking") + 1
        assert watch.session.status().held == 0
        # Counted as sent once, with what was typed.
        history = watch.session.connection_history()
        typed = len("echo ready$((40+2))\r") + len(ASK_CURSOR) + 1
        assert history.bytes_out == typed + len(f"\x1b[{report}R")


async def test_tmux_gets_the_terminals_answers_after_every_reattach(sshd: SshServer) -> None:
    profile = reconnect_profile(sshd)
    async with opened(profile) as watch:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the first attach")
        await watch.run("echo first$((40+2))", "first42")
        assert client_termtypes(sshd) == [expected := client_termtypes(sshd)[0]]
        assert expected  # tmux asked who the terminal is, and our emulator told it
        sshd.kill_connections()
        await watch.until(
            lambda: watch.notices and "reattached" in watch.notices[-1],
            RECOVERY_WAIT,
            "the reattach",
        )
        await watch.run("echo second$((40+2))", "second42")
        # The new client asked as it started; the answers went to it, over the new link.
        assert client_termtypes(sshd) == [expected]


def client_termtypes(server: SshServer) -> list[str]:
    result = server.tmux("list-clients", "-F", "#{client_termtype}")
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()
