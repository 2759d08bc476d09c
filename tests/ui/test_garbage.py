"""The settled sweep: one full collection after the tabs stop changing state, never right
after a key (termkeep/ui/garbage.py)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from textual.app import App

from termkeep.ui.diagnostics import KeyArrivals
from termkeep.ui.garbage import SettledSweep
from tests.ui.pilot import wait_for

SETTLE = 0.2
QUIET = 0.4


class Cycle:
    """Garbage only a collection frees: it refers to itself."""

    def __init__(self) -> None:
        self.me = self


@contextmanager
def collector_off() -> Iterator[None]:
    """Python's own collections off, so only the sweep can free a cycle."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def dropped_cycle() -> weakref.ref[Cycle]:
    return weakref.ref(Cycle())


async def test_a_burst_of_changes_is_swept_once_after_it_settles() -> None:
    app: App[None] = App()
    async with app.run_test() as pilot:
        sweep = SettledSweep(app, KeyArrivals(), settle=SETTLE, typing_quiet=QUIET)
        with collector_off():
            garbage = dropped_cycle()
            for _ in range(5):  # six tabs reconnecting: one change after another
                sweep.state_changed()
                await pilot.pause(SETTLE / 4)
            assert garbage() is not None
            assert sweep.sweeps == 0
            await wait_for(pilot, lambda: garbage() is None, "the cycle collected")
        await pilot.pause(SETTLE * 2)
        assert sweep.sweeps == 1


async def test_the_sweep_waits_until_nobody_types() -> None:
    app: App[None] = App()
    async with app.run_test() as pilot:
        keys = KeyArrivals()
        sweep = SettledSweep(app, keys, settle=SETTLE, typing_quiet=QUIET)
        with collector_off():
            garbage = dropped_cycle()
            sweep.state_changed()
            for _ in range(6):  # typing all through the settle time and past it
                keys.note()
                await pilot.pause(SETTLE / 2)
            assert garbage() is not None
            assert sweep.sweeps == 0
            await wait_for(pilot, lambda: sweep.sweeps == 1, "the sweep after the typing")
            assert garbage() is None
