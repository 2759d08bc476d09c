"""``termkeep history [PROFILE]``: the drops as a table and a summary per profile; an empty or
damaged history file gives a clear message, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from termkeep.cli import main
from termkeep.records.connection_history import Drop, HistoryJournal, event_record

HOUR = 3600.0
T0 = 1_796_000_000.0


@pytest.fixture
def history_file(state_dir: Path) -> Path:
    return state_dir / "connections.jsonl"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def a_drop(profile: str, session: str, start: float, recovery: float | None) -> Drop:
    return Drop(
        session=session,
        profile=profile,
        host=f"{profile}.example",
        start=start,
        end=start + (recovery or 1.0),
        cause="no reply for 6.0 s",
        recovery=recovery,
        same_tmux=True if recovery is not None else None,
        held_delivered=4 if recovery is not None else 0,
        outcome="" if recovery is not None else "closed",
    )


def fill(path: Path) -> None:
    journal = HistoryJournal(path)
    for session, profile in (("a1", "web"), ("b1", "db")):
        journal.append(event_record("open", session, profile, "h", T0))
        journal.append(event_record("close", session, profile, "h", T0 + 2 * HOUR))
    for start, recovery in ((600, 0.2), (1200, 3.0), (1800, 0.4), (2400, None)):
        journal.append(a_drop("web", "a1", T0 + start, recovery).record())


def test_an_empty_history_says_so(capsys: pytest.CaptureFixture[str], history_file: Path) -> None:
    code, out, err = run(capsys, "history")
    assert (code, err) == (0, "")
    assert out == f"no connection history yet ({history_file})\n"


def test_drops_and_the_summary_per_profile(
    capsys: pytest.CaptureFixture[str], history_file: Path
) -> None:
    fill(history_file)
    code, out, err = run(capsys, "history")
    assert (code, err) == (0, "")
    drops, summary = out.split("\n\n")
    header, *rows = drops.splitlines()
    assert header.split() == [
        "PROFILE",
        "START",
        "END",
        "RECOVERY",
        "TMUX",
        "HELD",
        "KEYS",
        "CAUSE",
    ]
    assert len(rows) == 4
    assert "0.20 s" in rows[0]
    assert "same" in rows[0]
    assert "4 B delivered" in rows[0]
    assert "not recovered (closed)" in rows[3]
    summary_header, db, web = summary.splitlines()
    assert summary_header.split()[:5] == ["PROFILE", "SESSIONS", "OBSERVED", "DROPS", "DROPS/HOUR"]
    # web: 4 drops in 2 h; recoveries 0.2, 0.4, 3.0 -> median 0.4, worst 3.0; one lost.
    cells = web.split("  ")
    assert [cell.strip() for cell in cells if cell.strip()] == [
        "web", "1", "2 h 0 min", "4", "2.0", "0.40 s", "3.00 s", "1"
    ]  # fmt: skip
    assert db.split()[:6] == ["db", "1", "2", "h", "0", "min"]
    assert db.split()[6:] == ["0", "0.0", "-", "-", "0"]


def test_one_profile_only(capsys: pytest.CaptureFixture[str], history_file: Path) -> None:
    fill(history_file)
    code, out, _ = run(capsys, "history", "db")
    assert code == 0
    assert out.startswith("no drops recorded\n\nPROFILE")
    assert out.rstrip().splitlines()[-1].startswith("db ")
    code, out, _ = run(capsys, "history", "nobody")
    assert (code, out) == (0, f"no connection history for 'nobody' yet ({history_file})\n")


def test_garbage_lines_are_named_and_the_rest_is_printed(
    capsys: pytest.CaptureFixture[str], history_file: Path
) -> None:
    fill(history_file)
    with history_file.open("a") as file:
        file.write("\x00\x01 garbage\n")
        file.write('{"kind": "drop"}\n')
    code, out, err = run(capsys, "history")
    assert code == 0
    assert err.splitlines() == [
        f"termkeep: warning: {history_file}:9: not a history record (skipped)",
        f"termkeep: warning: {history_file}:10: not a history record (skipped)",
    ]
    assert "Traceback" not in out + err
    assert "web" in out


def test_a_file_of_nothing_but_garbage(
    capsys: pytest.CaptureFixture[str], history_file: Path
) -> None:
    history_file.parent.mkdir(parents=True)
    history_file.write_bytes(b"\xff\xfe binary\n" * 9)
    code, out, err = run(capsys, "history")
    assert code == 0
    assert out == f"no connection history yet ({history_file})\n"
    assert err.count("not a history record") == 5
    assert err.splitlines()[-1] == "termkeep: warning: 4 more unreadable lines skipped"


def test_a_history_path_that_is_a_directory_is_one_line(
    capsys: pytest.CaptureFixture[str], history_file: Path
) -> None:
    history_file.mkdir(parents=True)
    code, _, err = run(capsys, "history")
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("termkeep: error: ")


def test_a_servers_words_in_the_history_cannot_drive_the_terminal(
    capsys: pytest.CaptureFixture[str], history_file: Path
) -> None:
    """A drop's cause quotes the server (a DISCONNECT reason); even a record written raw,
    by hand or by an older termkeep, prints with its controls made visible."""
    fill(history_file)
    hostile = a_drop("web", "a1", T0 + 3000, 0.5).record()
    hostile["cause"] = "server: \x1b]52;c;cm0gLXJmIH4K\x07\x1b[2J\x9b31m bye"
    with history_file.open("a") as file:
        file.write(json.dumps(hostile) + "\n")
    code, out, err = run(capsys, "history")
    assert (code, err) == (0, "")
    assert "server: " in out
    assert not [c for c in out if c in "\x1b\x07" or 0x80 <= ord(c) <= 0x9F]
