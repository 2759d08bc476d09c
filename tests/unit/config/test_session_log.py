"""Session log files: where they go, what they keep, how they rotate."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from termkeep.config.session_log import (
    KEEP_ROTATED,
    LogMode,
    SessionLog,
    log_file_path,
)

NOW = datetime(2026, 12, 4, 3, 5, 9, tzinfo=UTC)


def test_the_pattern_takes_putty_s_fields(tmp_path: Path) -> None:
    path = log_file_path(
        str(tmp_path / "&P-&H &Y&M&D &T &&.log"), profile="web-1", host="box", now=NOW
    )
    assert path == tmp_path / "web-1-box 20261204 030509 &.log"


def test_a_relative_pattern_lands_in_the_logs_dir_and_names_add_no_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERMKEEP_STATE_DIR", str(tmp_path / "state"))
    path = log_file_path("&P.log", profile="../x/y", host="h", now=NOW)
    assert path == tmp_path / "state" / "logs" / ".._x_y.log"


def test_output_mode_keeps_text_raw_keeps_bytes_and_files_are_private(tmp_path: Path) -> None:
    output = SessionLog(tmp_path / "logs" / "out.log", LogMode.OUTPUT)
    output.write(b"\x1b[32mgreen\x1b[0m\r\n")
    output.note("connection lost: no reply; reconnecting", now=NOW)
    output.close()
    raw = SessionLog(tmp_path / "logs" / "raw.log", LogMode.RAW)
    raw.write(b"\x1b[32mgreen\x1b[0m\r\n")
    raw.close()
    assert (tmp_path / "logs" / "out.log").read_text() == (
        "green\n\n[termkeep 2026-12-04T03:05:09+00:00] connection lost: no reply; reconnecting\n"
    )
    assert (tmp_path / "logs" / "raw.log").read_bytes() == b"\x1b[32mgreen\x1b[0m\r\n"
    assert stat.S_IMODE((tmp_path / "logs").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "logs" / "out.log").stat().st_mode) == 0o600


def test_the_log_rotates_at_its_cap_and_keeps_a_few_parts(tmp_path: Path) -> None:
    path = tmp_path / "tab.log"
    log = SessionLog(path, LogMode.RAW, max_bytes=100)
    for part in range(KEEP_ROTATED + 3):
        log.write(bytes([ord("a") + part]) * 60)
    log.close()
    assert path.read_bytes() == b"f" * 60
    assert (tmp_path / "tab.log.1").read_bytes() == b"e" * 60
    rotated = sorted(p.name for p in tmp_path.iterdir())
    assert rotated == ["tab.log", *(f"tab.log.{n}" for n in range(1, KEEP_ROTATED + 1))]
    assert all(p.stat().st_size <= 100 for p in tmp_path.iterdir())


def test_off_is_not_a_log(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="other than off"):
        SessionLog(tmp_path / "x.log", LogMode.OFF)
