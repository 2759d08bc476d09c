#!/usr/bin/env python3
"""Memory of one termkeep app through many server-side aborts: where its RSS goes.

The soak's lab (tests/fixtures/soak.py): the real OpenSSH sshd and tmux in a network
namespace, and on this side the real app with six tabs (t5 with a ``-L`` forward, t6 with a
``-D`` proxy) in a pty of its own (a private local tmux server). Optionally each remote tmux
session runs a clock (a line every 50 ms), so output flows through every tab.

Then ``--aborts`` times: the server kills every connection (``kill_connections``), and the
script waits until all six tabs are attached again (six tmux clients on the server, every tab
label attached), then ``--spacing`` seconds (past the accept-then-drop window, so every
recovery is a first one). After each batch it prints the app's RSS, its anonymous memory,
its threads and open descriptors, and from ``/proc/PID/smaps`` the resident memory of the
main heap and of the glibc malloc arenas (anonymous mappings aligned to 64 MiB, the arenas'
heap size), so a growth can be told apart: Python objects, per-thread malloc arenas, or
something else.

``--blackhole SECONDS`` makes each fault a silent outage of that length instead of an
abort: over 5 s, every tab then reads its pane at once for its "while you were away" notice.

``--scrollback-lines N`` sets every tab's scrollback (0: none), to tell the terminal engine's
scrollback, which fills up to its bound as lines scroll off, from the rest.

``--env NAME=VALUE`` adds to the app's environment (``MALLOC_ARENA_MAX=1`` to compare).

Needs root. Run: ``.venv/bin/python scripts/bench_memory.py --aborts 40 --clock`` (8 minutes).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from termkeep.platform.files import write_private_file
from termkeep.supervisor.state import ACCEPT_DROP_WINDOW
from tests.fixtures import soak_screens as screens
from tests.fixtures.soak import APP_TABS, Lab, Terminal
from tests.fixtures.soak_evidence import where_bytes_stop
from tests.fixtures.waiting import WaitTimeoutError, wait_until

ARENA_ALIGNMENT = 64 << 20
"""glibc's HEAP_MAX_SIZE on 64-bit: a thread arena's heap starts at a multiple of it."""
RECOVERY_TIMEOUT = 30.0
SPACING_SECONDS = ACCEPT_DROP_WINDOW + 1.0
"""The pause after each recovery. A link that ends sooner after attaching counts as a server
that accepts and then drops us, and its backoff carries into the next outage (issue 18):
aborts 0.5 s apart made the recoveries 15 s long, and measured the backoff, not memory."""


@dataclass(frozen=True)
class Sample:
    """The app's memory and resources at one moment."""

    aborts: int
    rss_kb: int
    anon_kb: int
    heap_kb: int
    arena_kb: int
    arenas: int
    threads: int
    thread_names: str
    fds: int

    @classmethod
    def of(cls, pid: int, aborts: int) -> Sample:
        proc = Path(f"/proc/{pid}")
        status = dict(
            line.split(":", 1) for line in (proc / "status").read_text().splitlines() if ":" in line
        )
        heap_kb, arena_kb, arenas = _smaps_totals(proc / "smaps")
        names = Counter(_thread_name(task) for task in (proc / "task").iterdir())
        return cls(
            aborts=aborts,
            rss_kb=_kb(status["VmRSS"]),
            anon_kb=_kb(status["RssAnon"]),
            heap_kb=heap_kb,
            arena_kb=arena_kb,
            arenas=arenas,
            threads=int(status["Threads"]),
            thread_names=", ".join(f"{name} x{count}" for name, count in sorted(names.items())),
            fds=len(list((proc / "fd").iterdir())),
        )

    def line(self) -> str:
        return (
            f"{self.aborts:4d} aborts  rss {self.rss_kb / 1024:6.1f} MB  "
            f"anon {self.anon_kb / 1024:6.1f}  heap {self.heap_kb / 1024:5.1f}  "
            f"arenas {self.arenas:2d} holding {self.arena_kb / 1024:5.1f} MB  "
            f"threads {self.threads:2d}  fds {self.fds:3d}  [{self.thread_names}]"
        )


def _kb(field: str) -> int:
    return int(field.split(maxsplit=1)[0])


def _thread_name(task: Path) -> str:
    try:
        return (task / "comm").read_text().strip()
    except OSError:
        return "gone"


def _smaps_totals(smaps: Path) -> tuple[int, int, int]:
    """Resident kB of ``[heap]`` and of malloc arenas, and how many arenas there are."""
    heap_kb = arena_kb = arenas = 0
    kind = ""
    for line in smaps.read_text().splitlines():
        head = line.split()
        if "-" in head[0] and not head[0].endswith(":"):
            start = int(head[0].split("-")[0], 16)
            path = head[5] if len(head) > 5 else ""
            kind = ""
            if path == "[heap]":
                kind = "heap"
            elif not path and start % ARENA_ALIGNMENT == 0 and head[1].startswith("rw"):
                kind = "arena"
                arenas += 1
        elif head[0] == "Rss:" and kind == "heap":
            heap_kb += int(head[1])
        elif head[0] == "Rss:" and kind == "arena":
            arena_kb += int(head[1])
    return heap_kb, arena_kb, arenas


def anon_regions(pid: int) -> dict[int, tuple[int, int, str]]:
    """Each anonymous mapping: start -> (size kB, resident kB, perms)."""
    regions: dict[int, tuple[int, int, str]] = {}
    start = size = 0
    perms = ""
    anonymous = False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and not head[0].endswith(":"):
            start = int(head[0].split("-")[0], 16)
            perms = head[1]
            anonymous = len(head) <= 5
        elif head[0] == "Size:":
            size = int(head[1])
        elif head[0] == "Rss:" and anonymous:
            regions[start] = (size, int(head[1]), perms)
    return regions


def regions_diff(
    before: dict[int, tuple[int, int, str]], after: dict[int, tuple[int, int, str]]
) -> str:
    """Where resident anonymous memory grew: new mappings by size, grown ones by address."""
    new: Counter[int] = Counter()
    new_rss: Counter[int] = Counter()
    grown: list[str] = []
    for start, (size, rss, perms) in after.items():
        if start not in before:
            new[size] += 1
            new_rss[size] += rss
        elif rss - before[start][1] >= 256:
            grown.append(
                f"  {start:#x} {perms} size {before[start][0]} -> {size} kB, "
                f"rss {before[start][1]} -> {rss} kB"
            )
    gone = sum(1 for start in before if start not in after)
    lines = [f"anonymous mappings: {len(before)} -> {len(after)} ({gone} gone)"]
    lines += [
        f"  new: {count} x {size} kB, resident {new_rss[size]} kB"
        for size, count in sorted(new.items(), key=lambda item: -new_rss[item[0]])[:12]
    ]
    return "\n".join([*lines, "grown by 256 kB or more:", *grown])


def start_clocks(lab: Lab) -> None:
    """Run the remote clock in every tab's tmux session (typed on the server side)."""
    assert lab.server is not None
    for name in lab.tab_names:
        lab.server.tmux(
            "send-keys", "-t", f"soak-{name}", f"python3 {lab.clock_script}", "Enter", check=True
        )


def tmux_clients(lab: Lab) -> int:
    assert lab.server is not None
    listed = lab.server.tmux("list-clients", "-F", "#{client_name}")
    return len(listed.stdout.split()) if listed.returncode == 0 else 0


def wait_recovered(lab: Lab, app: Terminal) -> float:
    """Wait until every tab is attached again; return how long it took."""
    started = time.monotonic()
    try:
        wait_until(
            lambda: (
                tmux_clients(lab) == APP_TABS
                and screens.all_tabs_attached(app.screen(), lab.tab_names)
            ),
            timeout=RECOVERY_TIMEOUT,
            what="every tab attached again",
        )
    except WaitTimeoutError:
        assert lab.server is not None
        evidence = where_bytes_stop(lab.server, app, lab.state_dir)
        print(f"not recovered; screen:\n{app.screen()}\n{evidence}")
        raise
    return time.monotonic() - started


def malloc_stats(pid: int, workdir: Path) -> str:
    """glibc's own per-arena figures from inside the app (gdb calls ``malloc_stats``; its
    output goes to the app's stderr, so stderr is pointed at a file for the call)."""
    if shutil.which("gdb") is None:
        return "(no gdb)"
    out = workdir / "malloc_stats.txt"
    commands = [
        f'call (int)open("{out}", 65, 384)',  # O_WRONLY|O_CREAT, 0600
        "call (int)dup(2)",
        "call (int)dup2($1, 2)",
        "call (void)malloc_stats()",
        "call (int)dup2($2, 2)",
        "call (int)close($1)",
        "call (int)close($2)",
    ]
    argv = ["gdb", "-p", str(pid), "-batch", "-nx"]
    for command in commands:
        argv += ["-ex", command]
    subprocess.run(argv, capture_output=True, timeout=60, check=False)
    return out.read_text() if out.exists() else "(gdb could not call malloc_stats)"


def run(args: argparse.Namespace, workdir: Path) -> None:
    lab = Lab(workdir)
    try:
        lab.start_server()
        assert lab.server is not None
        extra_env = dict(item.split("=", 1) for item in args.env)
        if args.scrollback_lines is not None:
            # The engine keeps each tab's scrollback outside Python's heap and grows it as
            # lines scroll off, up to this bound: without it, what is left is the app's own.
            settings = f"scrollback_lines = {args.scrollback_lines}\n"
            write_private_file(lab.config_dir / "settings.toml", settings)
        app = lab.start_app(extra_env)
        wait_recovered(lab, app)
        if args.clock:
            start_clocks(lab)
        time.sleep(2.0)
        print(f"app pid {app.pid}, env {extra_env or '{}'}, clock {args.clock}", flush=True)
        first = Sample.of(app.pid, 0)
        regions_before = anon_regions(app.pid)
        print(first.line(), flush=True)
        recoveries: list[float] = []
        after_first = first
        for aborts in range(1, args.aborts + 1):
            if args.blackhole:
                with lab.server.blackhole():
                    time.sleep(args.blackhole)
            else:
                lab.server.kill_connections()
            recoveries.append(wait_recovered(lab, app))
            time.sleep(args.spacing)
            sample = Sample.of(app.pid, aborts)
            if aborts == 1:
                after_first = sample
            if aborts in {1, args.aborts} or aborts % args.batch == 0:
                print(sample.line(), flush=True)
        last = Sample.of(app.pid, args.aborts)
        recoveries.sort()
        print(
            f"\n{args.aborts} aborts: rss {first.rss_kb / 1024:.1f} -> {last.rss_kb / 1024:.1f} MB "
            f"({(last.rss_kb - first.rss_kb) / 1024:+.1f}; "
            f"{(last.rss_kb - after_first.rss_kb) / 1024:+.1f} from the end of the first "
            f"recovery, the soak's reference), threads {first.threads} -> {last.threads}, "
            f"fds {first.fds} -> {last.fds}; recovery median "
            f"{recoveries[len(recoveries) // 2]:.2f} s, worst {recoveries[-1]:.2f} s"
        )
        print(regions_diff(regions_before, anon_regions(app.pid)))
        if args.malloc_stats:
            print("\nmalloc_stats() in the app:\n" + malloc_stats(app.pid, workdir))
    finally:
        lab.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--aborts", type=int, default=40, help="server aborts in all")
    parser.add_argument(
        "--spacing",
        type=float,
        default=SPACING_SECONDS,
        help="seconds from a recovery to the next abort",
    )
    parser.add_argument(
        "--blackhole",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="instead of each abort, a silent outage this long (every tab then reads its "
        "pane for the 'while you were away' notice, when it is over 5 s)",
    )
    parser.add_argument(
        "--scrollback-lines",
        type=int,
        default=None,
        metavar="N",
        help="each tab's scrollback (settings.toml's scrollback_lines; default 10000)",
    )
    parser.add_argument("--batch", type=int, default=10, help="print a sample every N aborts")
    parser.add_argument("--clock", action="store_true", help="a remote clock in every tab")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="add to the app's env"
    )
    parser.add_argument(
        "--malloc-stats", action="store_true", help="print glibc's malloc_stats() at the end"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_memory: needs root (network namespaces)", file=sys.stderr)
        return 2
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="tk-mem-", dir="/tmp"))
    try:
        run(args, workdir)
    except KeyboardInterrupt:
        print("\nbench_memory: interrupted", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


if __name__ == "__main__":
    sys.exit(main())
