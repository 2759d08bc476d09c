"""A hostile ssh_config given to ``hosts import-ssh-config``: commands it would run, Include
loops, non-UTF-8 bytes, a FIFO. Each is one clear line (or one skipped entry), never a
traceback, and no command ever runs. The Include limit is compared with the real ssh."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from termkeep.config.errors import ConfigError
from termkeep.config.files import ConfigFileError
from termkeep.transport.ssh_config_import import (
    MATCH_EXEC_LEFT_OUT,
    MAX_INCLUDE_DEPTH,
    host_patterns,
    read_ssh_config,
    resolve_host,
)
from tests.fixtures.requirements import require

FIFO_TIMEOUT = 20
"""Seconds before a test that would block on a FIFO fails instead (pytest-timeout)."""


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _match_exec_config(tmp_path: Path) -> tuple[Path, list[Path]]:
    markers = [tmp_path / f"ran-{number}" for number in range(4)]
    _write(tmp_path / "evil.conf", "Host hidden\n    HostName hidden.example.org\n")
    config = _write(
        tmp_path / "config",
        f"""Host web
    HostName web.example.org

Match exec "touch {markers[0]}"
    User evil
    Include {tmp_path / "evil.conf"}

Match host web.example.org exec "touch {markers[1]}"
    Port 2222

Match !exec "touch {markers[2]}"
    User negated

Match all
    ServerAliveInterval 7

Host db
    HostName db.example.org
""",
    )
    return config, markers


def test_an_import_never_runs_match_exec_and_says_so(tmp_path: Path) -> None:
    config, markers = _match_exec_config(tmp_path)
    plan = read_ssh_config(config)
    assert not [marker for marker in markers if marker.exists()]
    assert [entry.source for entry in plan.entries] == ["web", "db"]  # not 'hidden'
    web = plan.entries[0].profile
    assert (web.user, web.port, web.keepalive.interval) == (None, 22, 7.0)
    assert [(item.source, item.reason) for item in plan.skipped] == [
        (f"Match exec 'touch {markers[0]}'", f"{config} line 4: {MATCH_EXEC_LEFT_OUT}"),
        (
            f"Match host web.example.org exec 'touch {markers[1]}'",
            f"{config} line 8: {MATCH_EXEC_LEFT_OUT}",
        ),
        (f"Match '!exec' 'touch {markers[2]}'", f"{config} line 11: {MATCH_EXEC_LEFT_OUT}"),
    ]


def test_listing_aliases_never_runs_match_exec_either(tmp_path: Path) -> None:
    config, markers = _match_exec_config(tmp_path)
    assert host_patterns(config) == ["web", "db"]
    assert not [marker for marker in markers if marker.exists()]


def test_a_connection_s_lookup_still_runs_match_exec_as_ssh_does(tmp_path: Path) -> None:
    # What ssh itself does when it connects; only an import must not.
    config, markers = _match_exec_config(tmp_path)
    settings = resolve_host(config, "web")
    assert markers[0].exists()
    assert settings.get("User") == "evil"


def _include_chain(directory: Path, depth: int) -> Path:
    """``f0`` includes ``f1`` ... includes ``f{depth}``, which sets the user of host x."""
    for number in range(depth):
        _write(directory / f"f{number}", f"Include {directory / f'f{number + 1}'}\n")
    _write(directory / f"f{depth}", "Host x\n    User deepuser\n")
    return directory / "f0"


def _ssh_accepts(config: Path) -> bool:
    # ssh -G parses the config and prints the result; it connects nowhere.
    done = subprocess.run(
        ["ssh", "-G", "-F", str(config), "x"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0 and "user deepuser" in done.stdout


@pytest.mark.parametrize("depth", [MAX_INCLUDE_DEPTH, MAX_INCLUDE_DEPTH + 1])
def test_include_depth_is_limited_where_ssh_limits_it(tmp_path: Path, depth: int) -> None:
    require(None if shutil.which("ssh") else "needs ssh (Debian package openssh-client)")
    config = _include_chain(tmp_path, depth)
    try:
        imported = read_ssh_config(config).entries[0].profile.user == "deepuser"
    except ConfigError:
        imported = False
    assert imported == _ssh_accepts(config) == (depth <= MAX_INCLUDE_DEPTH)


def test_an_include_loop_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config"
    _write(config, f"Host a\n    User u\nInclude {config}\n")
    with pytest.raises(ConfigError) as caught:
        read_ssh_config(config)
    assert str(caught.value) == (
        f"cannot import {config}: {config} line 3: Include nested more than "
        f"{MAX_INCLUDE_DEPTH} deep (does a file include itself?); break the loop"
    )


def test_latin1_bytes_are_named_by_file_line_and_column(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.conf"
    latin1.write_bytes(b"# Jos\xe9's hosts\nHost a\n    User caf\xe9\n")
    config = _write(tmp_path / "config", f"Host b\n    User bob\n\nInclude {latin1}\n")
    with pytest.raises(ConfigFileError) as caught:
        read_ssh_config(config)
    assert str(caught.value) == (
        f"{latin1}:1: not UTF-8 text: byte 0xe9 at column 6 (was it saved as Latin-1?); "
        "save the file as UTF-8"
    )


@pytest.mark.timeout(FIFO_TIMEOUT)
def test_a_fifo_given_as_the_config_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "config"
    os.mkfifo(fifo)
    with pytest.raises(ConfigFileError, match="is a FIFO"):
        read_ssh_config(fifo)
