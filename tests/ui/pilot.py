"""What the app tests share: the prefix key and a bounded wait that lets the app run."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

PREFIX = "ctrl+backslash"
"""termkeep's default prefix key, as Pilot names it."""

QUICK = (200, 0.01)
"""(steps, pause) for an app on scripted sessions: a couple of seconds at most."""

LIVE = (400, 0.05)
"""(steps, pause) for a connect through sshd + tmux on a loaded machine: 20 s at most."""


async def wait_for(
    pilot: Pilot[None],
    condition: Callable[[], object],
    what: str = "the condition",
    *,
    bound: tuple[int, float] = QUICK,
) -> None:
    """Let the app run until ``condition`` holds, for at most ``bound`` steps of pauses."""
    steps, pause = bound
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(pause)
    raise AssertionError(f"timed out waiting for {what}")
