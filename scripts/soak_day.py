#!/usr/bin/env python3
"""A day in 20 minutes: one set of termkeep processes through a seeded schedule of faults.

The lab is the test suite's: the real OpenSSH sshd and tmux in a network namespace this
script creates, with an echo service beside them; faults from nftables (silent drop, reset,
10 % loss), the veth going down, the delayer (150 ms of round trip), server-side aborts, an
sshd restart and the server's tmux killed. On this side, one ``termkeep`` app with six tabs
(t5 carries a ``-L`` forward, t6 a ``-D`` proxy), one ``termkeep attach`` and one ``termkeep
tunnel -L``, each in its own session of a private local tmux server (``tmux -L soak-PID``):
its own pty, so SIGSTOP "sleeps" of it stop nothing else, and closing the session is closing
its terminal. Requests pass through every forward all day.

The user watches a remote clock (a line every 50 ms) in some stretches and types markers in
others (``echo SOAK-n-tab | tee -a FILE``: the server appends each one it runs to a file).
For every fault it prints the time from the fault's end to output visible again: fresh clock
lines, or the output of a marker typed (held) during the outage; every tab's label back to
attached; the first request through each forward.

Invariants, checked as it goes and at the end (exit 1 when one breaks, with its evidence):
held keys reach the remote exactly once (and none after the tmux server died, with the
notice); the server's tmux sessions are exactly one per tab and attach, replaced only when
tmux was killed (and announced); each forward passes traffic after each recovery; RSS of each
termkeep process stays within +10 MB of its value after the first full recovery, and its open
descriptors do not grow; every termkeep process is gone within 5 s of its terminal closing,
and its ports are free.

Needs root. Run: ``.venv/bin/python scripts/soak_day.py`` (20 minutes, 40 faults, a random
seed it prints); ``--seed N`` replays a day; ``--minutes 3 --faults 12`` is a quick one.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.soak_run import run_day


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seed", type=int, help="replay this day (default: a new seed)")
    parser.add_argument("--minutes", type=float, default=20.0, help="length of the day")
    parser.add_argument("--faults", type=int, default=40, help="how many faults")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--app-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="add to the app's environment (TERMKEEP_TRACE=FILE records its timeline)",
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("soak_day: needs root (network namespaces, nftables)", file=sys.stderr)
        return 2
    # Killed by `timeout` or a closed terminal, clean up as for Ctrl-C: nothing may be left.
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _interrupt)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    print(f"soak_day: seed {seed}, {args.minutes:g} minutes, {args.faults} faults", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="tk-soak-", dir="/tmp"))
    started = time.monotonic()

    def log(line: str) -> None:
        print(f"[{time.monotonic() - started:7.1f}] {line}", flush=True)

    try:
        app_env = dict(item.split("=", 1) for item in args.app_env)
        report = run_day(seed, args.faults, args.minutes, workdir, log, app_env=app_env)
    except KeyboardInterrupt:
        print(f"\nsoak_day: interrupted; replay with --seed {seed}", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"soak_day: work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(report.text())
    return 1 if report.violations else 0


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


if __name__ == "__main__":
    sys.exit(main())
