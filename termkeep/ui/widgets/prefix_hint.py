"""The bottom line of the app: the prefix key, and whether it waits for an action key.

It follows the PrefixRouter the app routes keys through: after each key the app tells it
the outcome, and it starts or stops the prefix timeout (which disarms the router) and shows
the line that fits.
"""

from __future__ import annotations

from textual.timer import Timer
from textual.widgets import Static

from termkeep.config.settings import Settings
from termkeep.ui.bindings import Outcome, PrefixRouter, key_label


def bound_key(settings: Settings, action_id: str) -> str:
    """How the key bound to ``action_id`` is shown (``unbound`` when remapped away)."""
    key = settings.keys.get(action_id)
    return key_label(key) if key else "unbound"


class PrefixHint(Static):
    """Shows the prefix and the help key; while armed, what to press next."""

    def __init__(self, router: PrefixRouter, settings: Settings) -> None:
        super().__init__(id="prefix-hint", markup=False)
        self._router = router
        self._settings = settings
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        """Show the idle line."""
        self.show()

    def follow(self, outcome: Outcome) -> None:
        """A key was routed: the prefix timeout starts when the router arms and ends when a
        key settles it (a modifier alone settles nothing)."""
        if outcome is Outcome.ARMED:
            timeout = self._settings.prefix_timeout
            self._timer = self.set_timer(timeout, self._timed_out) if timeout else None
        elif outcome is not Outcome.IGNORED:
            self._stop_timer()

    def show(self) -> None:
        """The line for the router's state now."""
        prefix = key_label(self._settings.prefix)
        help_key = bound_key(self._settings, "help")
        if self._router.armed:
            self.update(f" {prefix} … press an action key (escape cancels, {help_key} for help)")
        else:
            self.update(f" {prefix} {help_key} help")
        self.set_class(self._router.armed, "-armed")

    def _timed_out(self) -> None:
        self._router.cancel()
        self.show()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
