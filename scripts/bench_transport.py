#!/usr/bin/env python3
"""How long one fresh termkeep connection takes against a real loopback sshd and tmux.

    .venv/bin/python scripts/bench_transport.py [--runs 20]

Prints, per run and as median/min/max: the connector call (TCP + SSH handshake + key auth
+ tmux probe + PTY channel), the time from there to tmux's first screen bytes, and an SSH
ping's round trip; and for comparison OpenSSH's ``ssh HOST true`` (TCP + handshake + auth +
one command) on the same server. The first run creates the tmux session; later runs reattach.
The server's sessions get SHELL=/bin/sh so a slow ~/.bashrc on this machine does not count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from termkeep.config.profile import Profile, TmuxSettings
from termkeep.tmux.attach import PlainAttach
from termkeep.transport.prompts import NoPrompter
from termkeep.transport.ssh.connector import SshConnector
from tests.fixtures import sshd as sshd_module
from tests.fixtures.sshd import SshServer, make_workdir, start_sshd

FIRST_BYTES_LIMIT = 10.0


def parse_arguments() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="connections to time (default 20)")
    return parser.parse_args()


ORIGINAL_RENDER = sshd_module.render_config


def quiet_shell_config(server: SshServer) -> str:
    """The fixture's sshd_config with a plain /bin/sh in the sessions (one SetEnv line only:
    sshd ignores any later SetEnv)."""
    config = ORIGINAL_RENDER(server)
    return config.replace("SetEnv ", "SetEnv SHELL=/bin/sh SHLVL=1 ", 1)


async def time_one(connector: SshConnector) -> tuple[float, float, float]:
    """(connect seconds, seconds to first screen bytes after that, ping seconds)."""
    arrived = asyncio.Event()

    def on_data(chunk: bytes) -> None:
        if chunk:
            arrived.set()

    started = time.perf_counter()
    link = await connector(on_data, (120, 40))
    connected = time.perf_counter()
    try:
        await asyncio.wait_for(arrived.wait(), FIRST_BYTES_LIMIT)
        first_bytes = time.perf_counter()
        rtt = await asyncio.wait_for(link.ping(), FIRST_BYTES_LIMIT)
    finally:
        link.close()
        await asyncio.wait_for(link.wait_closed(), FIRST_BYTES_LIMIT)
    return connected - started, first_bytes - connected, rtt


def time_openssh(server: SshServer) -> float:
    """Wall time of ``ssh HOST true`` with the same key and known_hosts."""
    started = time.perf_counter()
    result = server.run_ssh("true")
    if result.returncode != 0:
        raise RuntimeError(f"ssh failed: {result.stderr.strip()}")
    return time.perf_counter() - started


def summary(name: str, values: list[float]) -> str:
    """One table row in milliseconds."""
    ms = [value * 1000 for value in values]
    return f"{name:<44} {statistics.median(ms):8.1f} {min(ms):8.1f} {max(ms):8.1f}"


async def run(server: SshServer, runs: int) -> None:
    """Time ``runs`` connections and print the table."""
    profile = Profile(
        name="bench",
        host=server.host,
        port=server.port,
        user=server.user,
        identity_files=(str(server.client_key),),
        known_hosts_file=str(server.known_hosts),
        tmux=TmuxSettings(session="tk-bench"),
    )
    connector = SshConnector(profile, NoPrompter(), attach=PlainAttach.for_profile(profile))
    rows: list[tuple[float, float, float]] = []
    for _ in range(runs):
        rows.append(await time_one(connector))
    openssh = [time_openssh(server) for _ in range(runs)]
    print(f"{'loopback, ' + str(runs) + ' runs (ms)':<44} {'median':>8} {'min':>8} {'max':>8}")
    print(summary("termkeep connect+auth+tmux probe+PTY open", [r[0] for r in rows]))
    print(summary("  then first tmux screen bytes", [r[1] for r in rows]))
    print(summary("  ping (SSH global request round trip)", [r[2] for r in rows]))
    print(summary("OpenSSH `ssh host true` (process wall time)", openssh))


def main() -> None:
    """Start the throwaway sshd, run the benchmark, clean up."""
    arguments = parse_arguments()
    sshd_module.render_config = quiet_shell_config
    # A private HOME and no agent: nothing of the user's ~/.ssh is read or offered.
    os.environ["HOME"] = tempfile.mkdtemp(prefix="tk-bench-home-")
    os.environ.pop("SSH_AUTH_SOCK", None)
    workdir = make_workdir("tk-bench-")
    server = start_sshd(workdir)
    try:
        asyncio.run(run(server, arguments.runs))
    finally:
        server.stop()
        for directory in (workdir, Path(os.environ["HOME"])):
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
