#!/usr/bin/env python3
"""App benchmark: time to first frame, and CPU with 10 attached idle tabs.

The app runs in a pane of a private local tmux server (its own socket, removed afterwards),
as a user would run it, and the screen is read with ``tmux capture-pane``.

- *first frame*: from asking tmux to start ``termkeep`` to its bottom hint line being on
  screen (Python start-up and imports included), beside an empty Textual app showing the
  same text (the floor on this machine). Goal: <= 0.5 s.
- *idle CPU*: the app opens 10 tabs (``--tabs 10,30`` for several counts) on the test
  suite's real OpenSSH sshd (loopback, throwaway keys, tmux on the server), waits until the
  server's tmux has a client per tab attached, then the app process's CPU time is read from
  /proc over a quiet interval. Goal: < 1 % of a core.

Run: ``.venv/bin/python scripts/bench_app.py [--reps N] [--idle-seconds S] [--tabs 10,30]``
(``--reps 0`` skips the first-frame measurement).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from termkeep.config.store import ProfileStore  # noqa: E402
from tests.fixtures.profiles import profile_for  # noqa: E402
from tests.fixtures.sshd import make_workdir, start_sshd  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
TERMKEEP = ROOT / ".venv" / "bin" / "termkeep"
HINT = "? help"
TABS = 10
SETTLE_SECONDS = 8.0
"""Quiet time before measuring: the attach notifications (5 s toasts) must have gone."""
POLL = 0.005


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition``; return the time it became true, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(POLL)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


class Tmux:
    """A private tmux server (its own socket name) with one window running the app."""

    _count = itertools.count(1)

    def __init__(self) -> None:
        # A fresh socket each time: a new server on the socket of one just killed can race
        # its shutdown ("server exited unexpectedly").
        self.socket = f"termkeep-bench-{os.getpid()}-{next(self._count)}"

    def run(self, *args: str) -> str:
        command = ["tmux", "-L", self.socket, "-f", "/dev/null", *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
        shell = f"exec env {exports} {command}"
        self.run("new-session", "-d", "-x", "120", "-y", "40", "sh", "-c", shell)

    def screen(self) -> str:
        return self.run("capture-pane", "-p")

    def pane_pid(self) -> int:
        return int(self.run("display-message", "-p", "#{pane_pid}").strip())

    def kill(self) -> None:
        # Only this benchmark's own server, by its socket name.
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10, check=False
        )


def app_command(startup: list[str]) -> str:
    """The installed ``termkeep`` command, as a user starts it (its whole start-up counts:
    the command line module and its imports too)."""
    return " ".join(shlex.quote(part) for part in [str(TERMKEEP), *startup])


BARE_TEXTUAL = (
    "from textual.app import App\n"
    "from textual.widgets import Static\n"
    "class Bare(App):\n"
    "    def compose(self):\n"
    f"        yield Static({HINT!r})\n"
    "Bare().run()\n"
)
"""The floor: an empty Textual app showing the same text, to tell termkeep's share apart."""


def private_dirs(config_dir: Path) -> dict[str, str]:
    """Config and state in the benchmark's temp dir: the user's own are never read or
    written (no saved tabs reopened, none remembered)."""
    return {
        "TERMKEEP_CONFIG_DIR": str(config_dir),
        "TERMKEEP_STATE_DIR": str(config_dir / "state"),
    }


def first_frame(config_dir: Path, command: str) -> float:
    """Seconds from starting ``command`` to its first complete frame."""
    tmux = Tmux()
    try:
        started = time.monotonic()
        tmux.start(command, private_dirs(config_dir))
        shown = wait_until(lambda: HINT in tmux.screen(), 30, "the first frame")
        return shown - started
    finally:
        tmux.kill()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def server_clients(socket: Path) -> int:
    """tmux clients attached on the server: one per attached tab."""
    done = subprocess.run(
        ["tmux", "-S", str(socket), "list-clients"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return len(done.stdout.splitlines()) if done.returncode == 0 else 0


@contextmanager
def idle_profiles(config_dir: Path, tabs: int) -> Iterator[tuple[list[str], Path]]:
    """A real sshd and ``tabs`` saved profiles on it, each with its own tmux session."""
    workdir = make_workdir("tk-bench-app-")
    server = start_sshd(workdir)
    try:
        store = ProfileStore(config_dir / "hosts")
        names = [f"idle-{n}" for n in range(1, tabs + 1)]
        for name in names:
            store.save(profile_for(server, name=name, tmux_session=f"bench-{name}"), replace=True)
        yield names, server.tmux_socket
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def idle_cpu(config_dir: Path, seconds: float, tabs: int = TABS) -> tuple[float, float]:
    """(seconds to attach all tabs, CPU % of one core while they sit idle)."""
    tmux = Tmux()
    with idle_profiles(config_dir, tabs) as (names, socket):
        try:
            started = time.monotonic()
            tmux.start(app_command(names), private_dirs(config_dir))
            attached = wait_until(
                lambda: server_clients(socket) >= tabs, 120, f"{tabs} tmux clients on the server"
            )
            pid = tmux.pane_pid()
            time.sleep(SETTLE_SECONDS)
            cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
            time.sleep(seconds)
            cpu_after, wall_after = cpu_seconds(pid), time.monotonic()
            percent = 100 * (cpu_after - cpu_before) / (wall_after - wall_before)
            return attached - started, percent
        finally:
            tmux.kill()


def uncompiled_modules() -> list[str]:
    """Modules on the start-up path that have no byte-code beside them: with
    PYTHONDONTWRITEBYTECODE set, each start would compile them from source again (0.4 s for
    Textual on this machine), so the numbers would measure the compiler, not the app."""
    probe = (
        "import importlib.util, os\n"
        "for name in ('textual.app', 'termkeep.ui.app', 'asyncssh'):\n"
        "    spec = importlib.util.find_spec(name)\n"
        "    cached = spec.cached if spec else None\n"
        "    if cached is None or not os.path.exists(cached):\n"
        "        print(name)\n"
    )
    done = subprocess.run(
        [str(PYTHON), "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="first-frame repetitions")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--tabs", default=str(TABS), help="idle tab counts, e.g. 10,30")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("needs tmux")
        return 1
    if missing := uncompiled_modules():
        print(f"no byte-code for {', '.join(missing)}: run scripts/bootstrap first")
        return 1
    with tempfile.TemporaryDirectory(prefix="tk-bench-config-") as config:
        config_dir = Path(config)
        bare = " ".join(shlex.quote(part) for part in [str(PYTHON), "-c", BARE_TEXTUAL])
        for what, command in (("termkeep", app_command([])), ("bare Textual app", bare)):
            if args.reps < 1:
                break
            frames = [first_frame(config_dir, command) for _ in range(args.reps)]
            print(
                f"first frame, {what}: median {statistics.median(frames):.3f} s, "
                f"min {min(frames):.3f} s, max {max(frames):.3f} s over {args.reps} starts "
                "(goal <= 0.5 s)"
            )
        for tabs in (int(count) for count in args.tabs.split(",")):
            attach, percent = idle_cpu(config_dir, args.idle_seconds, tabs)
            print(f"{tabs} tabs attached after {attach:.2f} s (startup included)")
            print(
                f"CPU with {tabs} attached idle tabs: {percent:.2f} % of a core over "
                f"{args.idle_seconds:.0f} s (goal < 1 %)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
