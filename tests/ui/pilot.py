"""What the app tests share: the prefix key and a bounded wait that lets the app run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.pilot import Pilot

from tests.fixtures.waiting import What, wait_until_async

PREFIX = "ctrl+backslash"
"""termkeep's default prefix key, as Pilot names it."""


@dataclass(frozen=True)
class Bound:
    """How long an app test waits at most, and how long the app runs between two looks."""

    seconds: float
    pause: float


QUICK = Bound(2.0, 0.01)
"""An app on scripted sessions: a couple of seconds at most."""

LIVE = Bound(20.0, 0.05)
"""A connect through sshd + tmux on a loaded machine: 20 s at most."""


async def wait_for(
    pilot: Pilot[None], condition: Callable[[], object], what: What, *, bound: Bound = QUICK
) -> None:
    """Let the app run until ``condition`` holds, failing after ``bound.seconds`` with a
    message naming ``what`` (tests/fixtures/waiting.py, with the app's own pause)."""
    await wait_until_async(
        condition, timeout=bound.seconds, what=what, interval=bound.pause, pause=pilot.pause
    )
