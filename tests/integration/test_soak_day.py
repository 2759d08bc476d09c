"""A few minutes of the soak day (scripts/soak_day.py) in the suite: the same code, a seeded
schedule with every kind of fault once, and only the invariants checked.

No timing is asserted: how fast each recovery was is printed by the script, not judged here.
What must hold whatever the machine's speed: held keys reach the remote exactly once (none
after the server's tmux died, with the notice), one tmux session per tab and attach (replaced
only when tmux was killed, and then announced), every forward passing traffic again after
each fault, flat memory and descriptors, and no termkeep process left once its terminal
closed.
"""

from __future__ import annotations

import shutil
from functools import partial

import pytest

from tests.fixtures.soak_run import run_day
from tests.fixtures.soak_schedule import Kind, make_schedule
from tests.fixtures.sshd import make_workdir

SEED = 18
FAULTS = 12
MINUTES = 2.0


def test_the_short_schedule_has_every_kind_of_fault() -> None:
    kinds = {spec.kind for spec in make_schedule(SEED, FAULTS, MINUTES)}
    assert kinds == set(Kind)


def test_a_schedule_replays_from_its_seed() -> None:
    assert make_schedule(SEED, 40, 20.0) == make_schedule(SEED, 40, 20.0)
    assert make_schedule(SEED, 40, 20.0) != make_schedule(SEED + 1, 40, 20.0)


@pytest.mark.root
@pytest.mark.sshd
@pytest.mark.timeout(600)
def test_a_short_day_keeps_every_invariant() -> None:
    workdir = make_workdir("tk-soak-")  # short: the server's tmux socket lives under it
    try:
        # Printed as it goes (pytest shows it for a failure, -s live): a stuck run shows where.
        report = run_day(SEED, FAULTS, MINUTES, workdir, partial(print, flush=True))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(report.text())
    assert not report.violations, report.text()
