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

from termkeep.ui.diagnostics import SCREEN_ROWS, row_checksum
from tests.fixtures import soak_screens as screens
from tests.fixtures.soak_evidence import busy_part, rows_compared
from tests.fixtures.soak_run import run_day
from tests.fixtures.soak_schedule import Kind, make_schedule
from tests.fixtures.sshd import make_workdir

SEED = 18
FAULTS = 12
MINUTES = 2.0
BOUND = 45.0
"""Longest wait for one recovery before it counts as never (the script's is 120 s). Every
recovery of this day was seen within 1 s of its fault's end; a network that is down is
probed every 0.25-0.5 s, and only a server that keeps refusing backs off, to 30 s at most,
so 45 s still holds that and a connect timeout. A broken day then costs 45 s per broken
recovery, not 120 s (seed 18 with keys split by the SIGCONT bug: 7 of them, 10.8 min)."""


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
        report = run_day(SEED, FAULTS, MINUTES, workdir, partial(print, flush=True), bound=BOUND)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(report.text())
    assert not report.violations, report.text()


def test_tab_labels_are_read_from_the_tab_bar_not_a_notification() -> None:
    bar = " ● t1  ● t2  ↻ t3  ● t4  ● t5  ● t6        ▌ t3: connection lost: reset;\n"
    assert screens.tab_glyphs(bar)["t3"] == "↻"
    assert not screens.all_tabs_attached(bar, ["t1", "t2", "t3"])
    assert screens.all_tabs_attached(bar.replace("↻", "●"), ["t1", "t2", "t3"])
    marked = " ● t1  ● + t2  ↻ !+ t3  ● ✓ t4\n"  # background tabs with activity marks
    assert screens.tab_glyphs(marked) == {"t1": "●", "t2": "●", "t3": "↻", "t4": "●"}


def test_a_marker_counts_as_output_only_on_its_own_line_or_after_a_prompt() -> None:
    assert screens.marker_seen("# echo x\nSOAK-3-t1\n", "SOAK-3-t1")
    assert screens.marker_seen("# SOAK-3-t1\n", "SOAK-3-t1")  # typed ahead of the prompt
    assert not screens.marker_seen("# echo SOAK-3-t1 | tee -a m\n", "SOAK-3-t1")
    assert not screens.marker_seen("SOAK-31-t1\n", "SOAK-3-t1")
    covered = "SOAK-3-t1                                 ▌ t4: reattached after 0.2 s\n"
    assert screens.marker_seen(covered, "SOAK-3-t1")  # a notification over its right


def test_the_rest_of_an_attach_notice_after_a_marker_is_not_remote_output() -> None:
    notice = "[termkeep] reconnected after 8.6 s: the old tmux session is gone, this is a new one"
    written = f"\x1b[H# \r\n{notice}\r\n\x1b[2;1H"
    assert screens.attach_notices(written) == [notice]
    # The remote's output written over the notice's first 11 columns, as tmux does.
    screen = f"# echo SOAK-14-att | tee -a m\nSOAK-14-att{notice[11:]}\n# \n"
    assert not screens.marker_seen(screen, "SOAK-14-att")
    assert screens.marker_seen(screen, "SOAK-14-att", [notice])
    # Anything else after it is still not its output, nor is the typed command line.
    assert not screens.marker_seen("SOAK-14-att reconnected\n", "SOAK-14-att", [notice])
    assert not screens.marker_seen("# echo SOAK-14-att | tee -a m\n", "SOAK-14-att", [notice])


def test_the_newest_clock_line_on_a_screen() -> None:
    assert screens.newest_clock("CLK 100.250\nCLK 100.300\n# \n") == 100.3
    assert screens.newest_clock("# \n") is None


def test_the_app_s_dump_in_the_evidence_keeps_only_what_is_not_waiting_for_work() -> None:
    pump = "/site-packages/textual/message_pump.py"
    dump = "\n".join(
        [
            "termkeep 7 at 2026-12-07 10:00:00",
            "batch count: 1",
            "task message pump Screen MessagePump._process_messages",
            f"  {pump}:641 in _process_messages_loop",
            f"  {pump}:689 in _dispatch_message",
            "  /termkeep/ui/app.py:12 in on_reattached",
            "  awaiting FutureIter",
            "task message pump Toast MessagePump._process_messages",
            f"  {pump}:349 in _get_message",
            "  awaiting FutureIter",
            "task screen_update Timer._run_timer",
            "  /site-packages/textual/timer.py:156 in _run",
            "  awaiting FutureIter",
            "thread MainThread (1)",
            "  /termkeep/cli/run.py:36 in run_open",
        ]
    )
    kept = busy_part(dump)
    assert "batch count: 1" in kept
    assert "  /termkeep/ui/app.py:12 in on_reattached" in kept
    assert "thread MainThread (1)" in kept
    assert not [line for line in kept if "Toast" in line or "screen_update" in line], kept


def test_the_evidence_names_the_rows_the_terminal_shows_otherwise() -> None:
    composed = ["● t1  ○ t2", "CLK 100.250", "# echo SOAK-1"]
    dump = f"batch count: 0\n{SCREEN_ROWS} {' '.join(row_checksum(row) for row in composed)}\n"
    same = "● t1  ○ t2   \nCLK 100.250\n# echo SOAK-1\n"
    assert rows_compared(dump, same) == "the terminal shows all 3 rows as the app composed them"
    lost_glyph = "t1  ○ t2\nCLK 100.250\n# echo SOAK-1\n"
    assert rows_compared(dump, lost_glyph).endswith("composed them: 0")
    cut_short = "● t1  ○ t2\n"
    assert rows_compared(dump, cut_short).endswith("composed them: 1 2")
    assert rows_compared("batch count: 0\n", same) == "(the dump has no screen rows)"
