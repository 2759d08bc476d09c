#!/usr/bin/env python3
"""Throughput benchmark: a big burst of output, and Ctrl-C during an output flood.

Every client runs in a pane of a private local tmux server (its own socket, removed
afterwards) at a fixed size, and the screen is read with ``capture-pane``, as a person would
see it, through one tmux control-mode client per pane (a ``tmux capture-pane`` process per
poll would cost a third of a core, taken from the clients under test on a small machine).
The server is the test suite's real OpenSSH sshd on loopback (throwaway keys), with the remote
tmux on its private socket. Clients, each attaching its own remote tmux session:

- ``ssh``: plain OpenSSH, ``ssh -t host tmux new-session -A -s NAME`` (the reference);
- ``termkeep attach``: the headless attach, bytes passed straight to the outer terminal;
- ``termkeep app``: ``termkeep PROFILE``, the Textual app with one tab.

Measured, several repetitions each (medians and ranges):

- *seq*: ``seq 1 300000``, from pressing Enter to the end being visible (a ``300000`` line
  with the prompt on the next line). Goal: termkeep <= 1.0x plain ssh.
- *Ctrl-C*: during ``yes`` and ``base64 /dev/urandom``, from sending C-c to the flood visibly
  stopped: the prompt back and the screen unchanged for ``STABLE_FOR`` seconds (the time is
  that of the first capture showing the final screen; the app's own status line, whose RTT
  moves on its once-a-second tick, is left out). Goal: <= 0.5 s.
- *CPU* the client process used during a seq run (median), to tell its own cost apart.
- *RSS* of the client process (the pane's process) before the runs, the largest seen during
  the floods, and after them. Goal: bounded.

Where the CPUs go (``--cpus``):

- ``split`` (the default on a machine with two CPUs or more): the server side (sshd, the
  remote tmux, seq) on one half of the CPUs, the clients, the outer tmux and this script on
  the other, as when the server is another machine. On loopback they would otherwise share
  the CPUs, and whatever CPU a client uses is taken from the remote tmux that produces the
  output: a busy loop using half a core alone makes plain ssh's seq 1.17x slower on a
  2-CPU machine, so the shared layout measures the machine as much as the client.
- ``shared``: everything on every CPU, for comparison.

Run: ``.venv/bin/python scripts/bench_throughput.py [--reps N] [--clients ssh,attach,app]
[--cpus split|shared]``.
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
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from termkeep.config.store import ProfileStore  # noqa: E402
from tests.fixtures.profiles import profile_for  # noqa: E402
from tests.fixtures.sshd import SshServer, make_workdir, start_sshd  # noqa: E402
from tests.fixtures.tmux_pane import ScreenReader, TmuxPane  # noqa: E402
from tests.fixtures.waiting import WaitTimeoutError, wait_until  # noqa: E402

TERMKEEP = ROOT / ".venv" / "bin" / "termkeep"
PANE_SIZE = (120, 40)
_pane_numbers = itertools.count(1)
PROMPT = "TKP> "
PROFILE = "bench"
SEQ_COUNT = 300000
FLOODS = {"yes": "yes", "base64": "base64 /dev/urandom"}

POLL = 0.002
"""Screen poll interval while timing. A read through the control client costs ~0.1 ms, so
polling this often leaves the machine to the clients under test."""
READY_TIMEOUT = 40.0
RETYPE_AFTER = 3.0
RUN_TIMEOUT = 60.0
FLOOD_SECONDS = 1.5
"""How long a flood runs (RSS sampled meanwhile) before Ctrl-C."""
STABLE_FOR = 0.3
"""A screen unchanged this long after the prompt came back counts as the flood stopped."""
SETTLE_AFTER = 1.0

_PROMPT_LINE = re.compile(rf"^[\s│┃|]*{re.escape(PROMPT.rstrip())}\s*[\s│┃|]*$", re.MULTILINE)
_SEQ_END = re.compile(
    rf"^[\s│┃|]*{SEQ_COUNT}[\s│┃|]*\n[\s│┃|]*{re.escape(PROMPT.rstrip())}", re.MULTILINE
)
_FLOOD_LINE = {
    "yes": re.compile(r"^[\s│┃|]*y[\s│┃|]*$", re.MULTILINE),
    "base64": re.compile(r"^[\s│┃|]*[A-Za-z0-9+/]{60,}[\s│┃|]*$", re.MULTILINE),
}
FLOOD_VISIBLE_LINES = 10


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, from /proc (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB, from /proc (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


@dataclass(frozen=True)
class Client:
    """One client under test: a name and how to build its pane command."""

    name: str
    command: Callable[[SshServer, Path, str], str]


def _ssh(server: SshServer, _home: Path, session: str) -> str:
    ssh = server.ssh_command(options=("-t",))
    remote = ["tmux", "new-session", "-A", "-s", session]
    return "exec " + shlex.join([*ssh, *remote])


def _termkeep(*args: str) -> Callable[[SshServer, Path, str], str]:
    def command(server: SshServer, home: Path, session: str) -> str:
        config, state = home / "config", home / "state"
        ProfileStore(config / "hosts").save(
            profile_for(server, name=PROFILE, tmux_session=session),
            replace=True,
        )
        env = f"TERMKEEP_CONFIG_DIR={config} TERMKEEP_STATE_DIR={state}"
        return f"exec env {env} {TERMKEEP} {shlex.join(args)}"

    return command


CLIENTS = [
    Client("ssh", _ssh),
    Client("attach", _termkeep("attach", PROFILE)),
    Client("app", _termkeep(PROFILE)),
]


@dataclass
class Results:
    """Everything measured for one client."""

    seq: list[float] = field(default_factory=list)
    seq_cpu: list[float] = field(default_factory=list)
    """CPU seconds the client process spent per seq run (its own cost, beside the wall time)."""
    stop: dict[str, list[float]] = field(default_factory=dict)
    rss_before: float = 0.0
    rss_during: float = 0.0
    rss_after: float = 0.0


@dataclass
class Running:
    """A client's pane, its process and what was measured on it."""

    client: Client
    pane: TmuxPane
    reader: ScreenReader
    pid: int
    results: Results


def ready(pane: TmuxPane) -> None:
    """Wait for the remote shell and give it a prompt the benchmark can recognise."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if pane.dead():
            raise RuntimeError(f"the client exited:\n{pane.screen()}")
        pane.type(f"PS1='{PROMPT}'; clear", enter=False)
        pane.keys("Enter")
        try:
            wait_until(
                lambda: _PROMPT_LINE.search(pane.screen()), timeout=RETYPE_AFTER, what="the prompt"
            )
        except WaitTimeoutError:
            continue  # typed before the client was reading keys: type it again
        return
    raise TimeoutError(f"no remote prompt after {READY_TIMEOUT:g} s:\n{pane.screen()}")


_clear_numbers = itertools.count(1)


def clear(pane: TmuxPane, reader: ScreenReader) -> None:
    """A cleared screen with the prompt, ready for the next command.

    The marker line printed after ``clear`` is new each time: a screen that merely looks
    cleared from the last time must not count, or the next command is typed while the shell
    is still clearing, and its keys are echoed ahead of the prompt.
    """
    marker = f"CLR{next(_clear_numbers)}"
    pane.type(f"clear; echo {marker}", enter=False)
    pane.keys("Enter")
    done = re.compile(
        rf"^[\s│┃|]*{marker}[\s│┃|]*\n[\s│┃|]*{re.escape(PROMPT.rstrip())}[\s│┃|]*$", re.MULTILINE
    )
    wait_until(
        lambda: done.search(reader.screen()),
        timeout=RUN_TIMEOUT,
        what=f"a cleared screen ({marker})",
        interval=POLL,
    )


def time_seq(client: Running) -> tuple[float, float]:
    """(seconds from Enter on ``seq 1 300000`` to its end and the prompt after it on screen,
    CPU seconds the client used meanwhile)."""
    pane, reader, pid = client.pane, client.reader, client.pid
    clear(pane, reader)
    pane.type(f"seq 1 {SEQ_COUNT}", enter=False)
    cpu_before = cpu_seconds(pid)
    started = time.monotonic()
    pane.keys("Enter")
    wait_until(
        lambda: _SEQ_END.search(reader.screen()),
        timeout=RUN_TIMEOUT,
        what="the end of seq",
        interval=POLL,
    )
    return time.monotonic() - started, cpu_seconds(pid) - cpu_before


_TERMKEEP_STATUS_LINE = re.compile(r"^.*\brtt \d+ ms\b.*$\n?", re.MULTILINE)


def remote_part(screen: str) -> str:
    """The screen without the app's own status line, whose round-trip time may change on
    its once-a-second tick: that is not the flood going on."""
    return _TERMKEEP_STATUS_LINE.sub("", screen)


def time_ctrl_c(client: Running, flood: str) -> tuple[float, float]:
    """(seconds from C-c to the flood visibly stopped, largest RSS seen during the flood)."""
    pane, reader, pid = client.pane, client.reader, client.pid
    clear(pane, reader)
    pane.type(FLOODS[flood], enter=False)
    pane.keys("Enter")
    wait_until(
        lambda: len(_FLOOD_LINE[flood].findall(reader.screen())) >= FLOOD_VISIBLE_LINES,
        timeout=RUN_TIMEOUT,
        what=f"the {flood} flood on screen",
        interval=POLL,
    )
    peak = 0.0
    flood_until = time.monotonic() + FLOOD_SECONDS
    while time.monotonic() < flood_until:
        peak = max(peak, rss_mib(pid))
        time.sleep(0.05)
    sent = time.monotonic()
    pane.keys("C-c")
    first_seen, last = sent, ""
    deadline = sent + RUN_TIMEOUT
    while time.monotonic() < deadline:
        now, screen = time.monotonic(), remote_part(reader.screen())
        if screen != last:
            first_seen, last = now, screen
        elif _PROMPT_LINE.search(screen) and now - first_seen >= STABLE_FOR:
            return first_seen - sent, max(peak, rss_mib(pid))
        time.sleep(POLL)
    raise TimeoutError(f"the {flood} flood did not stop within {RUN_TIMEOUT:g} s")


@contextmanager
def running_clients(clients: list[Client], server: SshServer) -> Iterator[list[Running]]:
    """Every client started in its own pane, attached to its own remote tmux session."""
    with tempfile.TemporaryDirectory(prefix="tk-bench-tp-") as home, ExitStack() as readers:
        started: list[Running] = []
        try:
            for client in clients:
                client_home = Path(home) / client.name
                command = client.command(server, client_home, f"tp-{client.name}")
                pane = TmuxPane(
                    f"tk-bench-tp-{os.getpid()}-{next(_pane_numbers)}", command, size=PANE_SIZE
                )
                reader = readers.enter_context(pane.screen_reader())
                started.append(Running(client, pane, reader, 0, Results()))
                ready(pane)
                started[-1].pid = pane.pid()
            time.sleep(SETTLE_AFTER)
            for each in started:
                each.results.rss_before = rss_mib(each.pid)
            yield started
        finally:
            for each in started:
                each.pane.close()
                server.tmux("kill-session", "-t", f"tp-{each.client.name}")


def measure(
    clients: list[Client], server: SshServer, reps: int, *, floods: bool = True
) -> dict[str, Results]:
    """All measurements, with the clients taking turns within each repetition, so a change
    in the shared machine's load falls on every client alike."""
    with running_clients(clients, server) as running:
        for _ in range(reps):
            for each in running:
                took, cpu = time_seq(each)
                each.results.seq.append(took)
                each.results.seq_cpu.append(cpu)
        for flood in FLOODS if floods else ():
            for _ in range(reps):
                for each in running:
                    took, peak = time_ctrl_c(each, flood)
                    each.results.stop.setdefault(flood, []).append(took)
                    each.results.rss_during = max(each.results.rss_during, peak)
        for each in running:
            clear(each.pane, each.reader)
        time.sleep(SETTLE_AFTER)
        for each in running:
            each.results.rss_after = rss_mib(each.pid)
        return {each.client.name: each.results for each in running}


def spread(values: list[float]) -> str:
    """``median (min-max)`` in seconds."""
    if not values:
        return "-"
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


@contextmanager
def loopback_server(server_cpus: set[int], client_cpus: set[int]) -> Iterator[SshServer]:
    """The sshd (and every session it forks) on ``server_cpus``; this process, and so the
    clients and tmux servers it starts afterwards, on ``client_cpus``."""
    everything = os.sched_getaffinity(0)
    workdir = make_workdir("tk-bench-tp-")
    try:
        os.sched_setaffinity(0, server_cpus)
        try:
            server = start_sshd(workdir)
        finally:
            os.sched_setaffinity(0, client_cpus)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        os.sched_setaffinity(0, everything)


def cpu_layout(layout: str) -> tuple[set[int], set[int]]:
    """(server CPUs, client CPUs) for ``layout`` (see the module docstring)."""
    cpus = sorted(os.sched_getaffinity(0))
    if layout == "shared" or len(cpus) < 2:
        return set(cpus), set(cpus)
    half = len(cpus) // 2
    return set(cpus[:half]), set(cpus[half:])


def print_table(table: dict[str, Results]) -> None:
    reference = table.get("ssh")
    base = statistics.median(reference.seq) if reference and reference.seq else None
    header = f"{'client':8} {'seq 1 300000 end visible, s':>30} {'vs ssh':>7} {'CPU s':>6}"
    header += "".join(f" {'C-c in ' + flood + ', s':>26}" for flood in FLOODS)
    header += f" {'RSS MiB before/peak/after':>26}"
    print(header)
    for name, result in table.items():
        ratio = f"{statistics.median(result.seq) / base:.2f}x" if base else "-"
        cpu = f"{statistics.median(result.seq_cpu):.2f}" if result.seq_cpu else "-"
        row = f"{name:8} {spread(result.seq):>30} {ratio:>7} {cpu:>6}"
        row += "".join(f" {spread(result.stop.get(flood, [])):>26}" for flood in FLOODS)
        rss = f"{result.rss_before:.0f}/{result.rss_during:.0f}/{result.rss_after:.0f}"
        print(row + f" {rss:>26}")
    print("goals: seq <= 1.0x plain ssh; C-c <= 0.5 s; RSS bounded")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each measurement")
    parser.add_argument("--clients", default=",".join(client.name for client in CLIENTS))
    parser.add_argument("--no-floods", action="store_true", help="measure seq only")
    parser.add_argument("--cpus", choices=("split", "shared"), default="split")
    args = parser.parse_args()
    if shutil.which("tmux") is None or shutil.which("ssh") is None:
        print("bench_throughput: needs tmux and ssh", file=sys.stderr)
        return 1
    wanted = set(args.clients.split(","))
    server_cpus, client_cpus = cpu_layout(args.cpus)
    with loopback_server(server_cpus, client_cpus) as server:
        chosen = [client for client in CLIENTS if client.name in wanted]
        table = measure(chosen, server, args.reps, floods=not args.no_floods)
    print(f"CPUs: server side {sorted(server_cpus)}, clients and outer tmux {sorted(client_cpus)}")
    print_table(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
