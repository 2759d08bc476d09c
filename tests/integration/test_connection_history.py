"""The connection history after two real drops on the real sshd and tmux: a silent blackhole
(keys typed during it are held and delivered) and a server-side abort. The file has both drops
with their causes, recovery times and the same tmux session, and no keystrokes; ``termkeep
history`` prints them and the profile's summary. ``termkeep attach`` records its drops too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from termkeep.session.tab_session import Session
from termkeep.terminal.durations import RECORD, duration_text
from termkeep.transport.prompts import NoPrompter
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.tmux_pane import termkeep_command, tmux_pane
from tests.integration.test_cli_e2e import ATTACH, RECOVER, save_profile, session_identity
from tests.integration.test_reconnect import (
    ATTACH_WAIT,
    RECOVERY_WAIT,
    Watch,
    reconnect_profile,
    tmux_session_id,
)

CONSOLE_SCRIPT = Path(sys.executable).parent / "termkeep"
TYPED_DURING_OUTAGE = "echo held-$((6*7))"


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def termkeep_history(*args: str) -> str:
    result = subprocess.run(
        [str(CONSOLE_SCRIPT), "history", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


async def test_two_real_drops_are_in_the_file_and_in_termkeep_history(
    netns_sshd: NetnsSshServer, state_dir: Path
) -> None:
    history_file = state_dir / "connections.jsonl"
    session = Session(
        reconnect_profile(netns_sshd), NoPrompter(), size=(100, 30), history_file=history_file
    )
    watch = Watch(session)
    await session.start()
    try:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the attach")
        await watch.run("echo up$((1+1))", "up2")
        tmux_id = tmux_session_id(netns_sshd)

        # Drop 1: silence. What is typed meanwhile is held, then delivered to the same session.
        with netns_sshd.blackhole():
            await watch.until(lambda: watch.state != "attached", RECOVERY_WAIT, "the stall")
            await watch.until(lambda: watch.state == "reconnecting", RECOVERY_WAIT, "the drop")
            session.write(TYPED_DURING_OUTAGE.encode() + b"\r")
        await watch.until(lambda: watch.state == "attached", RECOVERY_WAIT, "reattach 1")
        await watch.until(lambda: "held-42" in watch.screen(), RECOVERY_WAIT, "held keys run")

        # Drop 2: the server kills the connection.
        netns_sshd.kill_connections()
        await watch.until(lambda: watch.state != "attached", RECOVERY_WAIT, "the abort")
        await watch.until(lambda: watch.state == "attached", RECOVERY_WAIT, "reattach 2")
        await watch.run("echo back$((2+2))", "back4", limit=RECOVERY_WAIT)
        assert tmux_session_id(netns_sshd) == tmux_id

        view = session.connection_history()
        assert view.rtt  # pings were answered along the way
        assert view.bytes_in > 0
        assert view.bytes_out >= len(TYPED_DURING_OUTAGE)
    finally:
        await session.close()

    assert len(view.drops) == 2
    # (An outage of 5 s or more is followed by an "away" line: tests/integration/test_away.py.)
    lines = [line for line in records(history_file) if line["kind"] != "away"]
    assert [line["kind"] for line in lines] == ["open", "drop", "drop", "close"]
    silent, abort = lines[1], lines[2]
    assert silent["cause"].startswith("no reply for")
    assert silent["same_tmux"] is True
    assert silent["held_delivered"] == len(TYPED_DURING_OUTAGE) + 1
    assert silent["held_discarded"] == 0
    assert abort["same_tmux"] is True
    assert abort["cause"]  # the transport's words for the abort
    for drop in (silent, abort):
        assert drop["start"] <= drop["end"]
        assert 0 < drop["recovery"] < RECOVERY_WAIT
    assert lines[-1]["held_delivered"] == len(TYPED_DURING_OUTAGE) + 1
    text = history_file.read_text()
    assert "held-" not in text  # counts of keys, never the keys
    assert "6*7" not in text

    out = termkeep_history("reconnect-test")
    drop_table, summary = out.split("\n\n")
    header, first, second = drop_table.splitlines()
    assert header.split()[:2] == ["PROFILE", "START"]
    for row, drop in ((first, silent), (second, abort)):
        assert row.startswith("reconnect-test")
        assert duration_text(drop["recovery"], RECORD) in row
        assert " same " in row
    assert f"{len(TYPED_DURING_OUTAGE) + 1} B delivered" in first
    recoveries = sorted(drop["recovery"] for drop in (silent, abort))
    summary_row = summary.splitlines()[1]
    assert summary_row.split()[:2] == ["reconnect-test", "1"]
    assert duration_text(sum(recoveries) / 2, RECORD) in summary_row  # the median of two
    assert duration_text(recoveries[-1], RECORD) in summary_row  # the worst


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="needs the installed console script")
def test_termkeep_attach_records_its_drops(
    netns_sshd: NetnsSshServer, config_dir: Path, state_dir: Path
) -> None:
    save_profile(config_dir, netns_sshd)
    with tmux_pane(termkeep_command("attach", "e2e")) as pane:
        pane.type("echo set$((40+2))")
        pane.wait_for("set42", timeout=ATTACH)
        before = session_identity(netns_sshd)
        netns_sshd.kill_connections()
        pane.wait_for("[termkeep] connection lost", timeout=RECOVER)
        pane.type("clear; echo got-$((1+1))")
        pane.wait_for("got-2", timeout=RECOVER)
        assert session_identity(netns_sshd) == before
        pane.keys("Enter", "~", ".")
        pane.wait_for("TERMKEEP-EXIT=255", timeout=ATTACH, what="the attach to end")

    lines = records(state_dir / "connections.jsonl")
    assert [line["kind"] for line in lines] == ["open", "drop", "close"]
    assert lines[1]["profile"] == "e2e"
    assert lines[1]["same_tmux"] is True
    assert lines[2]["bytes_in"] > 0
    out = termkeep_history()
    assert out.splitlines()[1].startswith("e2e ")
