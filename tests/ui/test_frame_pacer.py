"""FramePacer: when output is drawn, with plain numbers for time; and the fine repaint grid
Textual is given so a drawn frame reaches the screen at once."""

from __future__ import annotations

import heapq
import itertools
import os
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from termkeep.ui import REPAINT_GRID_FPS
from termkeep.ui.widgets.frame_pacer import FramePacer

INTERVAL, QUIET, MIN_SPACING = 1 / 60, 0.002, 1 / 120


def pacer() -> FramePacer:
    return FramePacer(interval=INTERVAL, quiet=QUIET, min_spacing=MIN_SPACING)


def frames_for(outputs: list[float]) -> list[float]:
    """The frame times the terminal view would draw for output arriving at ``outputs``: one
    timer at the pacer's due time; when it fires early (more output came), it is set again."""
    paced = pacer()
    timers: list[float] = []
    frames: list[float] = []
    events = sorted(outputs)
    while events or timers:
        if timers and (not events or timers[0] <= events[0]):
            now = heapq.heappop(timers)
            due = paced.due()
            if due is not None and due <= now:
                paced.drawn(now)
                frames.append(now)
            elif due is not None:
                heapq.heappush(timers, due)
            continue
        now = events.pop(0)
        paced.output(now)
        if not timers:
            heapq.heappush(timers, max(now, paced.due() or now))
    return frames


def test_nothing_is_due_when_everything_is_drawn() -> None:
    paced = pacer()
    assert paced.due() is None
    paced.output(10.0)
    paced.drawn(10.001)
    assert paced.due() is None


def test_output_after_a_quiet_spell_is_drawn_at_once() -> None:
    assert frames_for([5.0]) == [5.0]


def test_a_steady_flood_is_drawn_once_per_interval() -> None:
    flood = [1.0 + n * 0.0005 for n in range(400)]  # a chunk every half millisecond for 0.2 s
    frames = frames_for(flood)
    gaps = [later - earlier for earlier, later in itertools.pairwise(frames)]
    assert frames[0] == 1.0
    assert all(abs(gap - INTERVAL) < 1e-9 for gap in gaps[:-1])
    assert 0.2 / INTERVAL <= len(frames) <= 0.2 / INTERVAL + 2


def test_the_end_of_a_burst_is_drawn_as_soon_as_the_stream_pauses() -> None:
    burst = [2.0 + n * 0.0005 for n in range(21)]  # ends at 2.010, mid-interval
    frames = frames_for(burst)
    assert frames[-1] == burst[-1] + QUIET
    assert frames[-1] < frames[0] + INTERVAL  # not held to the end of the interval


def test_small_bursts_cannot_push_the_frame_rate_past_the_minimum_spacing() -> None:
    bursts = [3.0 + n * (QUIET * 1.5) for n in range(200)]  # a pause after every chunk
    frames = frames_for(bursts)
    gaps = [later - earlier for earlier, later in itertools.pairwise(frames)]
    assert min(gaps) >= MIN_SPACING - 1e-9


@given(
    st.lists(st.floats(min_value=0, max_value=0.1), min_size=1, max_size=30),
    st.floats(min_value=0, max_value=1),
)
def test_later_output_never_makes_a_frame_due_earlier(gaps: list[float], since: float) -> None:
    paced = pacer()
    paced.drawn(100.0)
    now = 100.0 + since
    previous = None
    for gap in gaps:
        now += gap
        paced.output(now)
        due = paced.due()
        assert due is not None
        assert previous is None or due >= previous
        previous = due


def test_every_output_is_drawn_in_the_end() -> None:
    outputs = [1.0, 1.0001, 1.3, 1.30001, 1.30002, 2.0]
    frames = frames_for(outputs)
    for output in outputs:
        assert any(frame >= output for frame in frames)
    assert frames[-1] >= outputs[-1]


def repaint_grid(env: dict[str, str]) -> tuple[str, str]:
    """(Textual's max FPS, TEXTUAL_FPS as children see it) after importing the app."""
    probe = (
        "import os, termkeep.ui.app, textual.constants; "
        "print(textual.constants.MAX_FPS, os.environ.get('TEXTUAL_FPS', '-'))"
    )
    clean = {name: value for name, value in os.environ.items() if name != "TEXTUAL_FPS"}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=clean | env,
    )
    fps, seen_by_children = done.stdout.split()
    return fps, seen_by_children


def test_textual_repaints_on_a_fine_grid_without_the_setting_leaking_to_children() -> None:
    assert repaint_grid({}) == (REPAINT_GRID_FPS, "-")


def test_a_textual_fps_of_the_users_own_wins() -> None:
    assert repaint_grid({"TEXTUAL_FPS": "30"}) == ("30", "30")
