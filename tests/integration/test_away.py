""" "While you were away" on the real sshd and tmux: a silent blackhole while ``seq``'s lines
are printed one by one, then one notice whose line count is the number of lines the pane
printed during the outage (read from termkeep's own screen before the drop and from the
pane after it), that says the program in front ended; the same line in the connection
history and the session log; and the row where the unseen lines start (for the scrollback
view's ruler) is the first line not seen.
``termkeep attach`` prints it with its other ``[termkeep]`` lines, with the count from the
screen its last output draws."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from termkeep.config.settings import LogMode
from termkeep.session.tab_session import Session
from termkeep.terminal.emulator import row_text
from termkeep.transport.prompts import NoPrompter
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.tmux_pane import termkeep_command, tmux_pane
from tests.fixtures.waiting import wait_until
from tests.integration.test_cli_e2e import ATTACH, RECOVER, save_profile
from tests.integration.test_cli_e2e import TMUX_SESSION as E2E_SESSION
from tests.integration.test_reconnect import (
    ATTACH_WAIT,
    RECOVERY_WAIT,
    TMUX_SESSION,
    Watch,
    reconnect_profile,
)

CONSOLE_SCRIPT = Path(sys.executable).parent / "termkeep"
LINES = 150
# seq's numbers, one every 0.1 s, by a program that is in front while it runs (a shell
# loop would show its `sleep` there): 15 s of output, most of it into the blackhole.
PRINTER = (
    "perl -e 'open(my $s, q(-|), q(seq), 1, "
    f"{LINES}); $| = 1; while (<$s>) {{ print qq(n$_); select(undef, undef, undef, 0.1) }}"
    " print qq(end-), 6 * 7, qq(\\n)'"
)
_NUMBER = re.compile(r"n(\d+)")


def last_number_above_cursor(session: Session) -> int:
    """The last ``nK`` line termkeep shows above the cursor."""
    snapshot = session.emulator.snapshot()
    assert snapshot.cursor is not None
    rows = [row_text(row) for row in snapshot.rows[: snapshot.cursor.y]]
    numbers = [int(found.group(1)) for row in rows if (found := _NUMBER.fullmatch(row))]
    assert numbers, rows
    return numbers[-1]


def pane_text(server: NetnsSshServer, session: str = TMUX_SESSION) -> str:
    return server.tmux("capture-pane", "-p", "-t", f"={session}:").stdout


async def test_a_blackhole_during_seq_output_is_told_with_its_line_count_and_ruler(
    netns_sshd: NetnsSshServer, state_dir: Path
) -> None:
    history_file = state_dir / "connections.jsonl"
    session = Session(
        reconnect_profile(netns_sshd),
        NoPrompter(),
        size=(100, 30),
        history_file=history_file,
        log=LogMode.OUTPUT,
    )
    watch = Watch(session)
    await session.start()
    try:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the attach")
        await watch.run(f"clear; {PRINTER}", "n3")
        # A quick reattach while it runs, so the attach before the outage finds it in front
        # (too short an outage for a notice of its own).
        netns_sshd.kill_connections()
        await watch.until(lambda: watch.state != "attached", RECOVERY_WAIT, "the abort")
        await watch.until(lambda: watch.state == "attached", RECOVERY_WAIT, "the reattach")
        await watch.until(lambda: "n30" in watch.screen(), ATTACH_WAIT, "n30")

        with netns_sshd.blackhole():
            await watch.until(lambda: watch.state == "reconnecting", RECOVERY_WAIT, "the drop")
            seen = last_number_above_cursor(session)
            wait_until(
                lambda: "end-42" in pane_text(netns_sshd), timeout=RECOVERY_WAIT, what="the end"
            )
        await watch.until(lambda: watch.state == "attached", RECOVERY_WAIT, "reattach")
        await watch.until(
            lambda: any(notice.startswith("while you were away") for notice in watch.notices),
            RECOVERY_WAIT,
            "the away notice",
        )
        notice = next(text for text in watch.notices if text.startswith("while you were away"))
        # n(seen+1) .. n150, then end-42: every line the pane printed during the outage.
        printed = LINES - seen + 1
        assert f": {printed} lines printed, perl ended" in notice, notice
        assert sum(text.startswith("while you were away") for text in watch.notices) == 1

        # Where the scrollback view's ruler goes: the first unseen row, as the pane numbers it.
        mark = session.away_mark()
        assert mark is not None
        assert mark.text == notice
        row = netns_sshd.tmux(
            "capture-pane",
            "-p",
            "-t",
            f"={TMUX_SESSION}:",
            "-S",
            str(mark.first_unseen),
            "-E",
            str(mark.first_unseen),
        ).stdout.strip()
        assert row == f"n{seen + 1}"
        # What the view checks the row by, and that there is something to mark.
        assert (mark.first_text, mark.lines) == (row, printed)
        log_path = session.log.path
    finally:
        await session.close()

    records = [json.loads(line) for line in history_file.read_text().splitlines()]
    away = [record for record in records if record["kind"] == "away"]
    assert [record["text"] for record in away] == [notice]
    assert log_path is not None
    assert notice in log_path.read_text()


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="needs the installed console script")
def test_termkeep_attach_says_it_with_its_other_lines(
    netns_sshd: NetnsSshServer, config_dir: Path
) -> None:
    save_profile(config_dir, netns_sshd)
    with tmux_pane(termkeep_command("attach", "e2e")) as pane:
        pane.type(f"clear; {PRINTER}")
        pane.wait_for("n3", timeout=ATTACH)
        # A quick reattach while it runs, so the attach before the outage finds it in front.
        netns_sshd.kill_connections()
        pane.wait_for("[termkeep] connection lost", timeout=RECOVER)

        # (Its "reattached" line may be drawn over by tmux's redraw: the server says it.)
        def client_attached() -> bool:
            return bool(netns_sshd.tmux("list-clients", "-t", f"={E2E_SESSION}").stdout.strip())

        wait_until(client_attached, timeout=RECOVER, what="the reattach")
        pane.wait_for("n30", timeout=ATTACH)
        with netns_sshd.blackhole():
            pane.wait_for("[termkeep] connection lost: no reply", timeout=RECOVER)
            rows = pane.screen().splitlines()
            seen = max(int(found.group(1)) for row in rows if (found := _NUMBER.fullmatch(row)))
            wait_until(
                lambda: "end-42" in pane_text(netns_sshd, E2E_SESSION),
                timeout=RECOVER,
                what="the end",
            )
        # The screen seen is replayed from the last output kept, so the count is there too.
        pane.wait_for("[termkeep] while you were away (", timeout=RECOVER)
        # (On the terminal's last row, the outer tmux's own status may share its line.)
        line = next(line for line in pane.screen().splitlines() if "while you were away" in line)
        assert f"): {LINES - seen + 1} lines printed, perl ended " in f"{line} ", line
        pane.keys("Enter", "~", ".")
        pane.wait_for("TERMKEEP-EXIT=255", timeout=ATTACH, what="the attach to end")
