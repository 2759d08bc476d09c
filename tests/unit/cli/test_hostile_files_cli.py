"""Hostile files through the command line: one line per problem, the right exit code, and
everything else still works (issue 19, item 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.cli.test_cli import assert_one_line_error, run

FIFO_TIMEOUT = 30
"""Seconds before a test that would hang on a FIFO fails instead (pytest-timeout)."""


def _hostile_hosts_dir(capsys: pytest.CaptureFixture[str], config_dir: Path) -> dict[str, Path]:
    assert run(capsys, "hosts", "add", "web", "--host", "web.example.org")[0] == 0
    assert run(capsys, "hosts", "add", "db", "--host", "db.example.org")[0] == 0
    hosts = config_dir / "hosts"
    bad = {name: hosts / f"{name}.toml" for name in ("deep", "huge", "latin1", "pipe")}
    bad["deep"].write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with bad["huge"].open("wb") as file:
        file.truncate(200 * 1024 * 1024)
    bad["latin1"].write_bytes(b'host = "caf\xe9"\n')
    os.mkfifo(bad["pipe"])
    return bad


@pytest.mark.timeout(FIFO_TIMEOUT)
def test_hosts_list_names_each_bad_file_once_and_lists_the_others(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    bad = _hostile_hosts_dir(capsys, config_dir)
    code, out, err = run(capsys, "hosts", "list")
    assert code == 1
    assert [line.split()[0] for line in out.splitlines()] == ["NAME", "db", "web"]
    assert err.splitlines() == [
        f"termkeep: error: {bad['deep']}:1: arrays or tables nested more than 32 deep; "
        "flatten the file",
        f"termkeep: error: {bad['huge']}: is 209,715,200 bytes, more than the 1,048,576 a "
        "config file may have; shorten it",
        f"termkeep: error: {bad['latin1']}:1: not UTF-8 text: byte 0xe9 at column 12 (was it "
        "saved as Latin-1?); save the file as UTF-8",
        f"termkeep: error: {bad['pipe']}: is a FIFO (named pipe), not a regular file; replace "
        "it with a file",
    ]


@pytest.mark.timeout(FIFO_TIMEOUT)
def test_hosts_list_as_a_real_process_with_hostile_files(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    _hostile_hosts_dir(capsys, config_dir)
    done = subprocess.run(
        [sys.executable, "-m", "termkeep", "hosts", "list"],
        capture_output=True,
        text=True,
        timeout=FIFO_TIMEOUT,
        check=False,
    )
    assert done.returncode == 1
    assert "web.example.org:22" in done.stdout
    assert "db.example.org:22" in done.stdout
    assert len(done.stderr.splitlines()) == 4
    assert "Traceback" not in done.stderr


def test_hosts_show_of_a_deep_file_is_one_line(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    bad = _hostile_hosts_dir(capsys, config_dir)
    code, out, err = run(capsys, "hosts", "show", "deep")
    assert (code, out) == (1, "")
    assert_one_line_error(err, f"{bad['deep']}:1: arrays or tables nested more than 32 deep")


def test_import_ssh_config_reports_match_exec_and_runs_nothing(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    config = tmp_path / "ssh_config"
    config.write_text(
        f'Host web\n  HostName web.example.org\nMatch exec "touch {marker}"\n  User x\n'
    )
    code, out, err = run(capsys, "hosts", "import-ssh-config", str(config))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "imported web: web.example.org:22",
        f"skipped \"Match exec 'touch {marker}'\": {config} line 3: left out: an import never "
        "runs commands, so this block's settings are in no profile; add them to the profiles "
        "by hand if they apply",
        f"1 imported, 1 skipped, from {config}",
    ]
    assert not marker.exists()


@pytest.mark.timeout(FIFO_TIMEOUT)
def test_import_ssh_config_hostile_inputs_are_one_line_each(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    loop = tmp_path / "loop"
    loop.write_text(f"Include {loop}\n")
    latin1 = tmp_path / "latin1"
    latin1.write_bytes(b"Host caf\xe9\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    expected = {
        loop: f"cannot import {loop}: {loop} line 1: Include nested more than 16 deep",
        latin1: f"{latin1}:1: not UTF-8 text: byte 0xe9 at column 9",
        fifo: f"{fifo}: is a FIFO (named pipe), not a regular file",
    }
    for path, message in expected.items():
        code, out, err = run(capsys, "hosts", "import-ssh-config", str(path))
        assert (code, out) == (1, "")
        assert_one_line_error(err, message)
    assert not (config_dir / "hosts").exists()  # nothing was written
