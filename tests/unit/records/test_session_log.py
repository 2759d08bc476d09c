"""Session log files: where they go, what they keep, how they rotate."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from termkeep.config.settings import LogMode
from termkeep.records.session_log import KEEP_ROTATED, SessionLog, log_file_path
from tests.fixtures.isolation import Isolation
from tests.fixtures.requirements import require

FIFO_TIMEOUT = 20
"""Seconds before a test that would block on a FIFO fails instead (pytest-timeout)."""

NOW = datetime(2026, 12, 4, 3, 5, 9, tzinfo=UTC)


def test_the_pattern_takes_putty_s_fields(tmp_path: Path) -> None:
    path = log_file_path(
        str(tmp_path / "&P-&H &Y&M&D &T &&.log"), profile="web-1", host="box", now=NOW
    )
    assert path == tmp_path / "web-1-box 20261204 030509 &.log"


def test_a_relative_pattern_lands_in_the_logs_dir_and_names_add_no_directory(
    state_dir: Path,
) -> None:
    path = log_file_path("&P.log", profile="../x/y", host="h", now=NOW)
    assert path == state_dir / "logs" / ".._x_y.log"


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


@pytest.mark.parametrize(
    ("host", "file_name"),
    [
        ("~root", "~root.log"),
        ("~", "~.log"),
        ("../../x", ".._.._x.log"),
        ("..", "__.log"),
        (".", "_.log"),
        ("a\0b", "a_b.log"),
    ],
)
def test_field_values_are_literal_file_name_parts(
    state_dir: Path, host: str, file_name: str
) -> None:
    logs = state_dir / "logs"
    assert log_file_path("&H.log", profile="p", host=host, now=NOW) == logs / file_name
    # As a whole path component too: never a home, never the parent directory.
    nested = log_file_path("&H/&H.log", profile="p", host=host, now=NOW)
    assert nested.parent.parent == logs
    assert nested.resolve().is_relative_to(logs.resolve())


def test_a_logged_host_named_tilde_root_writes_in_the_logs_dir(state_dir: Path) -> None:
    path = log_file_path("&H.log", profile="p", host="~root", now=NOW)
    SessionLog(path, LogMode.OUTPUT).close()
    assert sorted(entry.name for entry in (state_dir / "logs").iterdir()) == ["~root.log"]


def test_only_the_pattern_s_own_tilde_is_expanded(isolation: Isolation) -> None:
    assert log_file_path("~/logs/&H.log", profile="p", host="~x", now=NOW) == (
        isolation.home / "logs" / "~x.log"
    )
    # A field right after the ~ must not pick the home: the ~ stays a literal character.
    assert log_file_path("~&H/a.log", profile="p", host="root", now=NOW) == (
        isolation.state_dir / "logs" / "~root" / "a.log"
    )
    with pytest.raises(OSError, match="'~no-such-user-zq' has no home directory"):
        log_file_path("~no-such-user-zq/&H.log", profile="p", host="h", now=NOW)


def test_a_symlink_where_the_log_goes_is_refused_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    link = tmp_path / "tab.log"
    link.symlink_to(target)
    with pytest.raises(OSError, match="symbolic link") as caught:
        SessionLog(link, LogMode.RAW)
    assert caught.value.filename == str(link)
    assert caught.value.strerror == (
        "is a symbolic link: termkeep writes logs only to regular files of your own; remove it"
    )
    assert target.read_text() == "keep me\n"


def test_a_dangling_symlink_is_not_followed_to_create_its_target(tmp_path: Path) -> None:
    link = tmp_path / "tab.log"
    link.symlink_to(tmp_path / "made-through-the-link")
    with pytest.raises(OSError, match="is a symbolic link"):
        SessionLog(link, LogMode.RAW)
    assert not (tmp_path / "made-through-the-link").exists()


@pytest.mark.timeout(FIFO_TIMEOUT)
def test_a_fifo_or_a_device_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.log"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="is a FIFO"):
        SessionLog(fifo, LogMode.RAW)
    with pytest.raises(OSError, match="is a character device, not a regular file"):
        SessionLog(Path("/dev/full"), LogMode.RAW)


def test_someone_else_s_file_is_refused(tmp_path: Path) -> None:
    require(None if os.geteuid() == 0 else "needs root to give a file to another user")
    theirs = tmp_path / "theirs.log"
    theirs.write_text("")
    os.chown(theirs, 65534, 65534)
    with pytest.raises(OSError, match=r"belongs to another user \(uid 65534\)"):
        SessionLog(theirs, LogMode.RAW)
    assert theirs.read_text() == ""


def test_a_symlink_planted_before_a_rotation_is_moved_aside_never_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tab.log"
    target = tmp_path / "precious"
    target.write_text("keep")
    log = SessionLog(path, LogMode.RAW, max_bytes=10)
    log.write(b"12345678")
    path.unlink()
    path.symlink_to(target)
    log.write(b"abcdef")  # over the cap: the name is rotated, then opened afresh
    log.close()
    assert target.read_text() == "keep"
    assert (tmp_path / "tab.log.1").is_symlink()  # renamed, not followed
    assert not path.is_symlink()
    assert path.read_bytes() == b"abcdef"
