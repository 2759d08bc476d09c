#!/usr/bin/env python3
"""Start the test suite's throwaway sshd by hand, print how to connect, stop it on Ctrl-C.

    .venv/bin/python scripts/dev_sshd.py              # loopback, free port, key login
    .venv/bin/python scripts/dev_sshd.py --netns      # inside a network namespace (root)
    .venv/bin/python scripts/dev_sshd.py --password   # also password/kbd-interactive (root)

It is the same server the ``sshd`` and ``netns_sshd`` fixtures start (tests/fixtures), so
what works here works in the tests. Type a command to inject a fault (``blackhole``,
``restore``, ``reset``, ``down``, ``up`` with ``--netns``; ``kill``, ``kill-tmux``,
``restart``, ``swap-key`` always).
Everything it made (namespace, veth, route, temp dir, processes) is removed on exit.
"""

from __future__ import annotations

import argparse
import secrets
import shlex
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

# The fixtures live in the tests package at the top of the repository; the script is run
# as a file, so the repository root has to be put on the import path by hand.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.netns import NetnsSshServer, start_netns_sshd
from tests.fixtures.requirements import missing_for_root, missing_for_sshd
from tests.fixtures.sshd import SshServer, make_workdir, start_sshd


def parse_arguments() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--netns", action="store_true", help="run sshd in a network namespace")
    parser.add_argument(
        "--password", action="store_true", help="also allow a (printed) one-time password"
    )
    return parser.parse_args()


def describe(server: SshServer) -> str:
    """How to use the running server, as copy-pasteable shell lines."""
    lines = [
        f"sshd pid {server.pid} on {server.host}:{server.port} (user {server.user})",
        f"  log:          {server.log_path}",
        f"  client key:   {server.client_key}",
        f"  known_hosts:  {server.known_hosts}",
        f"  connect:      {shlex.join(server.ssh_command())}",
        f"  its tmux:     TMUX_TMPDIR={shlex.quote(str(server.tmux_tmpdir))} tmux ls",
    ]
    if server.password is not None:
        lines.append(f"  password:     {server.password}  (for {server.user}, this server only)")
    if isinstance(server, NetnsSshServer):
        network = server.network
        lines.append(f"  namespace:    {network.name} (veth {network.host_veth}, {network.subnet})")
    lines.append("Commands: " + ", ".join(sorted(commands_for(server))) + " (EOF/Ctrl-C: stop)")
    return "\n".join(lines)


def commands_for(server: SshServer) -> dict[str, Callable[[], object]]:
    """The faults and actions a developer can trigger by typing their name."""
    commands: dict[str, Callable[[], object]] = {
        "kill": server.kill_connections,
        "kill-tmux": lambda: server.kill_tmux(missing_ok=True),
        "restart": server.restart,
        "swap-key": server.swap_host_key,
    }
    if isinstance(server, NetnsSshServer):
        commands |= {
            "blackhole": server.blackhole,
            "reset": server.reset,
            "down": server.link_down,
            "up": server.link_up,
            "restore": server.restore,
        }
    return commands


def serve_commands(server: SshServer) -> None:
    """Run typed commands until EOF; then (stdin closed, e.g. run in the background) wait
    for a signal."""
    commands = commands_for(server)
    print("> ", end="", flush=True)
    for line in sys.stdin:
        name = line.strip()
        if name in {"quit", "exit"}:
            return
        if name in commands:
            print(f"{name}: {commands[name]()!r}")
        elif name:
            print(f"unknown command {name!r}; try one of: {', '.join(sorted(commands))}")
        print("> ", end="", flush=True)
    signal.pause()


def stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    """Turn SIGTERM into a normal exit so the cleanup in ``main`` runs."""
    raise SystemExit(0)


def main() -> int:
    """Start the server, print how to use it, wait, clean up."""
    arguments = parse_arguments()
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    missing = missing_for_sshd() or (
        missing_for_root() if arguments.netns or arguments.password else None
    )
    if missing is not None:
        print(f"dev_sshd: cannot start: {missing}", file=sys.stderr)
        return 1
    password = secrets.token_urlsafe(12) if arguments.password else None
    workdir = make_workdir("tk-dev-sshd-")
    try:
        server: SshServer = (
            start_netns_sshd(workdir, password=password)
            if arguments.netns
            else start_sshd(workdir, password=password)
        )
        try:
            print(describe(server), flush=True)
            serve_commands(server)
        except (KeyboardInterrupt, SystemExit):  # Ctrl-C, or SIGTERM via stop_on_sigterm
            print()
        finally:
            server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("dev_sshd: stopped and cleaned up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
