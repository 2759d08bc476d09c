#!/usr/bin/env python3
"""Reconnect benchmark: termkeep against plain ssh, autossh and mosh, with real kernel faults.

The lab is the test suite's: a "server host" in a network namespace this script creates, with
the real OpenSSH sshd and tmux inside, and nftables dropping every packet for a silent outage.
Each client runs in a pane of a private local tmux server (its own socket), and the screen is
read with ``tmux capture-pane``, as a person would see it.

For each client and scenario it measures:

- *stall shown*: from the start of a silent drop to the client showing it (ssh's "not
  responding", mosh's "Last contact", termkeep's "connection lost");
- *recovered*: from the end of the fault to a typed marker command's output being visible.
  The marker is ``echo tk$((N+1))$TKVAR``; its output ends in ``kept`` only if the shell that
  set ``TKVAR`` before the fault is still there. A marker lost on the way (a fresh connection
  does not get keys typed into the dead one) is typed again after a second.

Needs root (namespaces, nftables). Run: ``.venv/bin/python scripts/bench_reconnect.py``;
``--quick`` skips the 120 s outage, ``--reps N`` repeats each short scenario.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.netns import NetnsSshServer, start_netns_sshd
from tests.fixtures.tmux_pane import TmuxPane

REPO = Path(__file__).resolve().parent.parent
POLL = 0.02
SESSION_READY_TIMEOUT = 30.0
RECOVERY_TIMEOUT = 90.0
RETYPE_AFTER = 1.0
STALL_TIMEOUT = 40.0


@dataclass(frozen=True)
class Client:
    """One SSH client under test, as the shell command run in a local tmux pane."""

    name: str
    command: Callable[[NetnsSshServer, Path], str]
    stall_pattern: str
    needs: tuple[str, ...]

    def available(self) -> bool:
        return all(shutil.which(tool) for tool in self.needs)


def _ssh_options(server: NetnsSshServer) -> str:
    return shlex.join(
        [
            *("-F", "/dev/null", "-i", str(server.client_key), "-p", str(server.port)),
            *("-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"),
            *("-o", f"UserKnownHostsFile={server.known_hosts}", "-o", "StrictHostKeyChecking=yes"),
            *("-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"),
        ]
    )


# One quoted word: autossh runs getopt over all its arguments, so a bare `-A -s bench` after
# the host would be taken as ssh options (agent forwarding, subsystem).
_REMOTE_TMUX = shlex.quote("tmux new-session -A -s bench")


def _ssh(server: NetnsSshServer, _home: Path) -> str:
    return f"ssh -t {_ssh_options(server)} {server.user}@{server.host} {_REMOTE_TMUX}"


def _autossh(server: NetnsSshServer, _home: Path) -> str:
    # -M 0: rely on ServerAlive for detection, as autossh's own docs recommend today.
    return (
        "AUTOSSH_GATETIME=0 autossh -M 0 -t "
        f"{_ssh_options(server)} {server.user}@{server.host} {_REMOTE_TMUX}"
    )


def _mosh(server: NetnsSshServer, _home: Path) -> str:
    ssh = "ssh " + _ssh_options(server)
    return (
        f"LANG=C.UTF-8 mosh --ssh={shlex.quote(ssh)} {server.user}@{server.host} "
        "-- tmux new-session -A -s bench"
    )


def _termkeep(server: NetnsSshServer, home: Path) -> str:
    config = home / "termkeep-config"
    (config / "hosts").mkdir(parents=True, exist_ok=True)
    (config / "hosts" / "bench.toml").write_text(
        f'host = "{server.host}"\nport = {server.port}\nuser = "{server.user}"\n'
        f'identity_files = ["{server.client_key}"]\nknown_hosts_file = "{server.known_hosts}"\n'
        '[tmux]\nsession = "bench"\n'
    )
    env = f"TERMKEEP_CONFIG_DIR={config} TERMKEEP_STATE_DIR={home / 'termkeep-state'}"
    return f"{env} {REPO / '.venv/bin/termkeep'} attach bench"


CLIENTS = [
    Client("termkeep", _termkeep, r"connection lost", ()),
    Client("ssh", _ssh, r"not responding", ("ssh",)),
    Client("autossh", _autossh, r"not responding", ("autossh",)),
    Client("mosh", _mosh, r"Last contact", ("mosh", "mosh-server")),
]


_marker_numbers = itertools.count(1)
"""One sequence for the whole run: an old marker's output can never be mistaken for a new one."""


@dataclass
class Marker:
    """Typed marker commands; each has a distinct expected output."""

    numbers: list[int] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)

    def send(self, pane: TmuxPane) -> None:
        number = next(_marker_numbers)
        pane.type(f"echo tk$(({number * 1000}+1))$TKVAR")
        self.numbers.append(number)
        self.sent_at.append(time.monotonic())

    def seen(self, screen: str) -> str | None:
        """``kept`` or ``fresh`` for the first of these markers' output on screen, else None."""
        for number in self.numbers:
            match = re.search(rf"^tk{number * 1000 + 1}(kept)?\s*$", screen, re.MULTILINE)
            if match:
                return "kept" if match.group(1) else "fresh"
        return None


def wait_for(condition: Callable[[], object], timeout: float) -> float | None:
    """Seconds until ``condition`` is truthy, or None after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(POLL)
    return None


def attach(pane: TmuxPane) -> bool:
    """Wait for the remote shell, then set the variable that proves the shell survived."""
    marker = Marker()
    deadline = time.monotonic() + SESSION_READY_TIMEOUT
    while time.monotonic() < deadline:
        pane.type("export TKVAR=kept")
        marker.send(pane)
        if wait_for(lambda: marker.seen(pane.screen()) == "kept", RETYPE_AFTER) is not None:
            pane.type("clear")
            return True
    return False


def measure_recovery(pane: TmuxPane, restored_at: float) -> tuple[float | None, str]:
    """Seconds from ``restored_at`` to a marker's output, and whether the shell survived."""
    marker = Marker()
    marker.send(pane)
    deadline = restored_at + RECOVERY_TIMEOUT
    while time.monotonic() < deadline:
        outcome = marker.seen(pane.screen())
        if outcome is not None:
            return time.monotonic() - restored_at, outcome
        if pane.dead():
            return None, "session lost"
        if time.monotonic() - marker.sent_at[-1] > RETYPE_AFTER:
            marker.send(pane)
        time.sleep(POLL)
    return None, "no recovery"


@dataclass
class Result:
    stall: list[float] = field(default_factory=list)
    recovery: list[float] = field(default_factory=list)
    notes: set[str] = field(default_factory=set)


def run_outage(server: NetnsSshServer, pane: TmuxPane, client: Client, seconds: float) -> Result:
    result = Result()
    fault = server.blackhole()
    started = time.monotonic()
    shown = wait_for(
        lambda: re.search(client.stall_pattern, pane.screen()), min(seconds, STALL_TIMEOUT)
    )
    if shown is not None:
        result.stall.append(shown)
    remaining = seconds - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)
    fault.undo()
    recovered, outcome = measure_recovery(pane, time.monotonic())
    if recovered is not None:
        result.recovery.append(recovered)
    result.notes.add(outcome)
    return result


def run_abort(server: NetnsSshServer, pane: TmuxPane) -> Result:
    result = Result()
    server.kill_connections()
    recovered, outcome = measure_recovery(pane, time.monotonic())
    if recovered is not None:
        result.recovery.append(recovered)
    result.notes.add(outcome)
    return result


def run_client(
    client: Client, scenarios: list[tuple[str, float | None]], reps: int
) -> dict[str, Result]:
    results: dict[str, Result] = {}
    for label, seconds in scenarios:
        total = Result()
        for rep in range(reps if seconds is None or seconds < 60 else 1):
            with tempfile.TemporaryDirectory(prefix="tk-bench-") as tmp:
                server = start_netns_sshd(Path(tmp) / "server")
                pane = TmuxPane(
                    f"tk-bench-{os.getpid()}-{rep}",
                    client.command(server, Path(tmp)),
                    size=(120, 40),
                )
                try:
                    if not attach(pane):
                        total.notes.add("could not attach")
                        continue
                    one = (
                        run_abort(server, pane)
                        if seconds is None
                        else run_outage(server, pane, client, seconds)
                    )
                    total.stall += one.stall
                    total.recovery += one.recovery
                    total.notes |= one.notes
                finally:
                    pane.close()
                    server.kill_tmux(missing_ok=True)
                    server.stop()
        results[label] = total
        print(f"  {client.name:9} {label:22} {_summary(total)}", flush=True)
    return results


def _median(values: list[float]) -> str:
    if not values:
        return "—"
    spread = f" ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else ""
    return f"{statistics.median(values):.2f} s{spread}"


def _summary(result: Result) -> str:
    notes = ", ".join(sorted(result.notes))
    stall, recovery = _median(result.stall), _median(result.recovery)
    return f"stall shown {stall:>16}   recovered {recovery:>16}   [{notes}]"


def _without_values(metric: str, result: Result) -> str:
    """What a cell says when nothing was measured: a stall never shown, or why no recovery."""
    if metric == "stall":
        return "not shown"
    return ", ".join(sorted(result.notes))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each short scenario")
    parser.add_argument("--quick", action="store_true", help="skip the 120 s outage")
    parser.add_argument("--clients", default=",".join(c.name for c in CLIENTS))
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_reconnect: needs root to create the network namespace", file=sys.stderr)
        return 2
    scenarios: list[tuple[str, float | None]] = [("10 s outage", 10.0)]
    if not args.quick:
        scenarios.append(("120 s outage", 120.0))
    scenarios.append(("server-side abort", None))
    wanted = set(args.clients.split(","))
    table: dict[str, dict[str, Result]] = {}
    for client in CLIENTS:
        if client.name not in wanted:
            continue
        if not client.available():
            print(f"  {client.name:9} not installed ({', '.join(client.needs)}), skipped")
            continue
        table[client.name] = run_client(client, scenarios, args.reps)
    print()
    print(f"{'':34} " + " ".join(f"{name:>30}" for name in table))
    for label, _ in scenarios:
        for metric in ("stall", "recovery"):
            cells = []
            for name in table:
                result = table[name][label]
                values = result.stall if metric == "stall" else result.recovery
                cell = _median(values) if values else _without_values(metric, result)
                cells.append(f"{cell:>30}")
            title = f"{label} {'stall shown' if metric == 'stall' else 'recovered'}"
            if metric == "stall" and label == "server-side abort":
                continue
            print(f"{title:34} " + " ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
