"""A background tab's marks over a fake timeline: new output, bells, and "done" only after a
long run of output followed by a pause."""

from __future__ import annotations

from termkeep.terminal.activity import Activity, DoneTimes, Mark


def printing(activity: Activity, start: float, end: float, step: float = 1.0) -> float:
    """Output every ``step`` seconds from ``start`` to ``end``; the time of the last."""
    now = start
    while now <= end:
        activity.output(now)
        now += step
    return now - step


def test_the_first_output_marks_the_tab_once() -> None:
    activity = Activity()
    assert activity.output(100.0)
    assert not activity.output(100.5)  # already marked: no change to tell
    assert activity.marks == {Mark.ACTIVITY}


def test_a_bell_marks_the_tab() -> None:
    activity = Activity()
    assert activity.bell()
    assert not activity.bell()
    assert activity.marks == {Mark.BELL}


def test_ten_seconds_of_output_then_five_of_silence_is_done() -> None:
    activity = Activity()
    last = printing(activity, 0.0, 10.0)
    assert activity.done_check_at() == last + 5.0
    assert not activity.check_done(last + 4.9)  # still within the pause
    assert activity.check_done(last + 5.0)
    assert activity.marks == {Mark.ACTIVITY, Mark.DONE}
    assert activity.done_check_at() is None  # the run is over: nothing left to check


def test_a_short_run_is_not_done() -> None:
    activity = Activity()
    last = printing(activity, 0.0, 9.0)
    assert not activity.check_done(last + 5.0)
    assert Mark.DONE not in activity.marks
    assert activity.done_check_at() is None


def test_a_pause_shorter_than_the_quiet_time_keeps_the_run_going() -> None:
    activity = Activity()
    printing(activity, 0.0, 6.0)
    last = printing(activity, 10.5, 12.0)  # 4.5 s pause: still the same run
    assert activity.check_done(last + 5.0)


def test_a_long_pause_starts_a_new_run() -> None:
    activity = Activity()
    printing(activity, 0.0, 6.0)
    last = printing(activity, 11.0, 15.0)  # 5 s pause: the first run ended short
    assert not activity.check_done(last + 5.0)


def test_a_late_check_sees_output_that_came_after_it_was_set() -> None:
    activity = Activity(DoneTimes(busy=2.0, quiet=5.0))
    activity.output(0.0)
    activity.output(3.0)
    assert not activity.check_done(5.0)  # the check set at the first output: too early
    assert activity.done_check_at() == 8.0
    assert activity.check_done(8.0)


def test_showing_the_tab_clears_its_marks_and_its_run() -> None:
    activity = Activity()
    printing(activity, 0.0, 10.0)
    activity.bell()
    assert activity.clear()
    assert not activity.marked
    assert activity.done_check_at() is None
    assert not activity.clear()  # nothing left to clear


def test_each_long_run_is_done_again() -> None:
    activity = Activity()
    last = printing(activity, 0.0, 10.0)
    assert activity.check_done(last + 5.0)
    last = printing(activity, 100.0, 110.0)
    assert activity.check_done(last + 5.0)  # a second notification is due
