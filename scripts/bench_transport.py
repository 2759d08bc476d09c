#!/usr/bin/env python3
"""How long one fresh termkeep connection takes against a real loopback sshd and tmux.

    .venv/bin/python scripts/bench_transport.py [--runs 20] [--forward-agent]

Prints, per run and as median/min/max: the connector call (TCP + SSH handshake + key auth
+ tmux probe + PTY channel), the time from there to tmux's first screen bytes, and an SSH
ping's round trip; and for comparison OpenSSH's ``ssh HOST true`` (TCP + handshake + auth +
one command) on the same server. The first run creates the tmux session; later runs reattach.
The server's sessions get SHELL=/bin/sh so a slow ~/.bashrc on this machine does not count.
``--forward-agent`` times the same with a real ssh-agent forwarded (the attach then keeps the
session's stable agent path, tmux/agent.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
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
    parser.add_argument(
        "--forward-agent", action="store_true", help="forward a real ssh-agent (started here)"
    )
    return parser.parse_args()


ORIGINAL_RENDER = sshd_module.render_config


def quiet_shell_config(server: SshServer) -> str:
    """The fixture's sshd_config with a plain /bin/sh in the sessions (one SetEnv line only:
    sshd ignores any later SetEnv)."""
    config = ORIGINAL_RENDER(server)
    return config.replace("SetEnv ", "SetEnv SHELL=/bin/sh SHLVL=1 ", 1)


def agent_config(server: SshServer) -> str:
    """``quiet_shell_config`` with agent forwarding allowed and a runtime directory (where
    the stable agent path goes) in the sessions."""
    runtime = server.workdir / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    config = quiet_shell_config(server).replace(
        "AllowAgentForwarding no", "AllowAgentForwarding yes"
    )
    return config.replace("SetEnv ", f"SetEnv XDG_RUNTIME_DIR={runtime} ", 1)


def start_agent(workdir: Path, key: Path) -> subprocess.Popen[bytes]:
    """A real ssh-agent on its own socket, holding ``key``; it becomes our SSH_AUTH_SOCK."""
    socket_path = workdir / "agent.sock"
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(socket_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + FIRST_BYTES_LIMIT
    while not socket_path.exists():
        if time.monotonic() > deadline:
            agent.kill()
            raise RuntimeError("ssh-agent did not start")
        time.sleep(0.02)
    os.environ["SSH_AUTH_SOCK"] = str(socket_path)
    subprocess.run(["ssh-add", "-q", str(key)], check=True, capture_output=True, timeout=10)
    return agent


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


async def run(server: SshServer, runs: int, *, forward_agent: bool) -> None:
    """Time ``runs`` connections and print the table."""
    profile = Profile(
        name="bench",
        host=server.host,
        port=server.port,
        user=server.user,
        identity_files=(str(server.client_key),),
        known_hosts_file=str(server.known_hosts),
        tmux=TmuxSettings(session="tk-bench"),
        agent_forwarding=forward_agent,
    )
    connector = SshConnector(profile, NoPrompter(), attach=PlainAttach.for_profile(profile))
    rows: list[tuple[float, float, float]] = []
    for _ in range(runs):
        rows.append(await time_one(connector))
    openssh = [time_openssh(server) for _ in range(runs)]
    title = f"loopback, {runs} runs{', agent forwarded' if forward_agent else ''} (ms)"
    print(f"{title:<44} {'median':>8} {'min':>8} {'max':>8}")
    print(summary("termkeep connect+auth+tmux probe+PTY open", [r[0] for r in rows]))
    print(summary("  then first tmux screen bytes", [r[1] for r in rows]))
    print(summary("  ping (SSH global request round trip)", [r[2] for r in rows]))
    print(summary("OpenSSH `ssh host true` (process wall time)", openssh))


def main() -> None:
    """Start the throwaway sshd, run the benchmark, clean up."""
    arguments = parse_arguments()
    sshd_module.render_config = agent_config if arguments.forward_agent else quiet_shell_config
    # A private HOME and no agent: nothing of the user's ~/.ssh is read or offered.
    os.environ["HOME"] = tempfile.mkdtemp(prefix="tk-bench-home-")
    os.environ.pop("SSH_AUTH_SOCK", None)
    workdir = make_workdir("tk-bench-")
    server = start_sshd(workdir)
    agent = start_agent(workdir, server.client_key) if arguments.forward_agent else None
    try:
        asyncio.run(run(server, arguments.runs, forward_agent=arguments.forward_agent))
    finally:
        if agent is not None:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=FIRST_BYTES_LIMIT)
        server.stop()
        for directory in (workdir, Path(os.environ["HOME"])):
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
