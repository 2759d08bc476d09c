"""`termkeep tunnel` as a real process against the real sshd: only forwards, its lines, its
reconnect after a server-side abort, and its exit codes (ssh -N's)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from termkeep.config.forwards import parse_flag
from termkeep.config.profile import KeepaliveSettings, ReconnectSettings
from termkeep.config.store import ProfileStore
from tests.fixtures import leaks, procs
from tests.fixtures.profiles import profile_for
from tests.fixtures.sshd import SshServer, free_loopback_port
from tests.fixtures.tcp_services import echo_server, round_trip
from tests.fixtures.waiting import wait_until

WAIT = 30.0


class TunnelProcess:
    """``termkeep tunnel ARGS`` with its stderr lines collected as they come."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "termkeep", "tunnel", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        leaks.registry.add_pid(self.process.pid)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, text: str) -> str:
        def found() -> str | None:
            return next((line for line in self.lines if text in line), None)

        wait_until(lambda: found() is not None, timeout=WAIT, what=f"{text!r} in {self.lines}")
        line = found()
        assert line is not None
        return line

    def stop(self, signum: signal.Signals = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        code = self.process.wait(timeout=WAIT)
        self._reader.join(timeout=WAIT)
        return code


@pytest.fixture
def running(config_dir: Path) -> Iterator[list[TunnelProcess]]:
    started: list[TunnelProcess] = []
    yield started
    for tunnel in started:
        if tunnel.process.poll() is None:
            procs.stop_process(tunnel.process)  # type: ignore[arg-type]


def save(config_dir: Path, server: SshServer, *flags: str) -> None:
    ProfileStore(config_dir / "hosts").save(
        profile_for(
            server,
            name="db",
            keepalive=KeepaliveSettings(interval=1.0, count_max=3),
            reconnect=ReconnectSettings(connect_timeout=2.0, max_delay=2.0),
            forwards=tuple(parse_flag(*flag.split(" ", 1)) for flag in flags),
        )
    )


async def test_forwards_come_back_after_a_server_abort_on_the_same_port(
    sshd: SshServer, config_dir: Path, state_dir: Path, running: list[TunnelProcess]
) -> None:
    port = free_loopback_port()
    async with echo_server() as echo_port:
        flag = f"-L {port}:127.0.0.1:{echo_port}"
        save(config_dir, sshd, flag)
        tunnel = TunnelProcess("db")
        running.append(tunnel)
        await asyncio.to_thread(tunnel.wait_line, f"db: {flag}: up on localhost:{port}")
        assert await round_trip(port, b"first") == b"first"
        sshd.kill_connections()
        await asyncio.to_thread(tunnel.wait_line, "db: connection lost: ")
        await asyncio.to_thread(tunnel.wait_line, "db: reattached after ")
        assert await round_trip(port, b"again") == b"again"
        assert tunnel.stop() == 255  # like ssh -N killed by a signal
    assert tunnel.lines[-1] == "[termkeep] stopped by SIGTERM"
    # The abort is in the connection history, as a tab's would be.
    history = (state_dir / "connections.jsonl").read_text().splitlines()
    assert [json.loads(line)["kind"] for line in history] == ["open", "drop", "close"]
    # No shell and no tmux on the server: nothing ran there, not even a tmux server.
    assert sshd.tmux_server_pid() is None


async def test_extra_forwards_on_the_command_line_and_exit_on_forward_failure(
    sshd: SshServer, config_dir: Path, running: list[TunnelProcess]
) -> None:
    save(config_dir, sshd, f"-D {free_loopback_port()}")
    busy = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    busy_port = busy.sockets[0].getsockname()[1]
    try:
        tunnel = TunnelProcess(
            "db", "-L", f"127.0.0.1:{busy_port}:h:1", "--exit-on-forward-failure"
        )
        running.append(tunnel)
        code = await asyncio.to_thread(tunnel.process.wait, WAIT)
    finally:
        busy.close()
    assert code == 255
    assert (
        f"[termkeep] db: -L 127.0.0.1:{busy_port}:h:1: 127.0.0.1:{busy_port} is already in use "
        "by another program; pick another port"
    ) in tunnel.lines
    assert tunnel.lines[-1] == "[termkeep] db: a forward failed; exiting"


def test_a_profile_without_forwards_is_refused(sshd: SshServer, config_dir: Path) -> None:
    save(config_dir, sshd)
    result = subprocess.run(
        [sys.executable, "-m", "termkeep", "tunnel", "db"],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "termkeep: error: 'db' has no forwards; give some with -L, -R or -D, or save them "
        "with 'termkeep hosts add db ... -L ...'\n"
    )
