"""One full garbage collection after the tabs' states have settled.

Why: a network fault changes every tab at once. Each tab's label and status line are laid out
again, and each tab's notice (lost, back) is a Textual widget that lives for the notice's
timeout. Those objects live long enough to reach Python's oldest generation, so once they are
dropped only a full collection frees them, and CPython runs one only when that generation has
grown by a quarter since the last. Until then the garbage piles up, fault after fault, and the
heap keeps the high-water mark: the app's RSS climbs over a flaky day without anything leaking.
Measured with ``scripts/bench_memory.py --aborts 8 --clock --blackhole 20`` (six tabs, eight
20 s outages): +5.4 MB from the first recovery without a sweep, +2.1 MB with a collection
every 5 s, +1.7 MB with this one. Collecting once, when the tabs have not changed state for
SETTLE_SECONDS (their notices gone by then) and nobody is typing, frees each wave's garbage
at a quiet moment instead of at a random one. A full collection of the app (about 120,000
objects) takes about 50 ms, the pause CPython's own full collections make anyway.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

from textual.app import App
from textual.timer import Timer

from termkeep.ui.diagnostics import KeyArrivals

_log = logging.getLogger(__name__)

SETTLE_SECONDS = App.NOTIFICATION_TIMEOUT + 3.0
"""After the last state change: the wave's notices (Textual's default timeout) have expired
and their widgets have been removed, so their garbage is there to collect."""
TYPING_QUIET_SECONDS = 2.0
"""No key for this long before the sweep, so its pause does not fall in the middle of typing."""


class SettledSweep:
    """Runs ``gc.collect()`` once the tabs' states have stopped changing."""

    def __init__(
        self,
        app: App[Any],
        keys: KeyArrivals,
        settle: float = SETTLE_SECONDS,
        typing_quiet: float = TYPING_QUIET_SECONDS,
    ) -> None:
        self._app = app
        self._keys = keys
        self._settle = settle
        self._typing_quiet = typing_quiet
        self._timer: Timer | None = None
        self.sweeps = 0

    def state_changed(self) -> None:
        """A tab changed state: sweep ``settle`` seconds after the last such change."""
        self._start(self._settle)

    def _start(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self._app.set_timer(delay, self._sweep, name="garbage-sweep")

    def _sweep(self) -> None:
        self._timer = None
        typed = self._keys.age()
        if typed is not None and typed < self._typing_quiet:
            self._start(self._typing_quiet - typed)
            return
        started = time.perf_counter()
        freed = gc.collect()
        self.sweeps += 1
        took = (time.perf_counter() - started) * 1000
        _log.debug("settled sweep: %d objects freed in %.1f ms", freed, took)
