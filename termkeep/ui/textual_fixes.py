"""Corrections to Textual that termkeep cannot wait for, each with its evidence.

Textual 8.2's ``StylesCache.get_inner_outer`` is an instance method under a class-wide
``functools.lru_cache(1024)``, so every widget's StylesCache (and the rendered Strips it
holds) stays reachable from the cache until 1024 newer entries push it out (upstream issue
Textualize/textual#6665, open). termkeep shows a notification for each tab that drops and
recovers, each one two widgets: with six tabs, every server abort added about 17 StylesCaches
to that cache (scripts/bench_memory.py), until it held 1024 of them with all their Strips.
The method never reads ``self``: only the two colours make the answer, so the fix caches on
them alone.

Textual 8.2's ``LinuxDriver`` answers every SIGCONT by starting application mode again: a
new input thread (and writer thread) beside the ones already running, unless a SIGTSTP had
suspended them first. A process stopped any other way (SIGSTOP: a debugger, a freezer,
``kill -STOP``; the soak's laptop sleep) or sent SIGCONT while running (dash's ``fg`` sends
it to jobs that were never stopped) then had two threads reading the keyboard, each with its
own parser: a typed line was split between them and its parts reached the remote out of
order, the Enter in the middle (the soak day's t5 and t2 markers after its sleep fault). The
fix resumes only a driver that was suspended.

Textual 8.2's ``Strip.divide`` and ``Strip.crop_extend`` cache their answer in the strip's
own caches, and when the answer is the strip itself (divided at its full length, cropped to
all of it: what the compositor asks of nearly every line it draws), the strip refers to
itself: a cycle that reference counting cannot free, so every strip drawn, with its seven
caches, waited for Python's full collection. With six tabs showing output that was 4-5 MB of
garbage between full collections, and the heap kept the high-water mark (measured with
``sys._debugmallocstats`` in the app under scripts/bench_memory.py: allocated blocks going
35.6 -> 39.9 MB and back each minute; ``gc.DEBUG_SAVEALL``: 4,800 FIFOCaches and 690 Strips
per 15 s). The fix answers those two cases with the strip itself without caching it, which
is what the cache would have returned.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, override

from rich.style import Style as RichStyle
from textual._styles_cache import StylesCache
from textual.app import App
from textual.color import Color
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver
from textual.strip import Strip
from textual.style import Style

CACHE_SIZE = 1024
"""Textual's own size for this cache: distinct background pairs, not widgets."""

type InnerOuter = Callable[[Color, Color], tuple[Style, Style]]


def apply() -> None:
    """Apply the fixes above (once each)."""
    _cache_inner_outer_by_colours()
    _strips_without_self_cycles()


def _cache_inner_outer_by_colours() -> None:
    """Make ``StylesCache.get_inner_outer`` cache by colours only (a no-op when Textual's
    own method is no longer the leaking kind)."""
    method = StylesCache.__dict__.get("get_inner_outer")
    if isinstance(method, staticmethod):
        return  # applied already
    unbound = getattr(method, "__wrapped__", None)
    if not callable(unbound) or not hasattr(method, "cache_info"):
        return
    StylesCache.get_inner_outer = staticmethod(_by_colours(unbound))  # type: ignore[assignment,method-assign]


def _by_colours(unbound: Callable[..., Any]) -> InnerOuter:
    @functools.lru_cache(CACHE_SIZE)
    def inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
        # Textual's body ignores its first argument, so no StylesCache needs to be kept.
        result: tuple[Style, Style] = unbound(None, base_background, background)
        return result

    return inner_outer


def _strips_without_self_cycles() -> None:
    """A strip divided at its full length, or cropped to all of it, is answered with
    itself and not cached in itself."""
    if getattr(Strip.divide, "keeps_no_self_cycle", False):
        return  # applied already
    divide, crop_extend = Strip.divide, Strip.crop_extend

    def whole_or_divide(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
        cuts = list(cuts)
        if [cut for cut in cuts if cut <= self.cell_length] == [self.cell_length]:
            return [self]
        return divide(self, cuts)

    def whole_or_crop_extend(self: Strip, start: int, end: int, style: RichStyle | None) -> Strip:
        if start <= 0 and end == self.cell_length:
            return self
        return crop_extend(self, start, end, style)

    whole_or_divide.keeps_no_self_cycle = True  # type: ignore[attr-defined]
    Strip.divide = whole_or_divide  # type: ignore[method-assign]
    Strip.crop_extend = whole_or_crop_extend  # type: ignore[method-assign]


class ResumeOnlyWhenSuspended(LinuxDriver):
    """Textual's Linux driver, whose application mode is started again only after it was
    suspended (a SIGTSTP, or ``App.suspend``): never a second reader of the keyboard."""

    def __init__(
        self,
        app: App[Any],
        *,
        debug: bool = False,
        mouse: bool = True,
        size: tuple[int, int] | None = None,
    ) -> None:
        # Set first: the base class installs the SIGCONT handler that reads it.
        self._suspended = False
        super().__init__(app, debug=debug, mouse=mouse, size=size)

    @override
    def suspend_application_mode(self) -> None:
        self._suspended = True
        super().suspend_application_mode()

    @override
    def resume_application_mode(self) -> None:
        if not self._suspended:
            return  # application mode still runs: its input thread is reading the keyboard
        self._suspended = False
        super().resume_application_mode()


def driver_class(chosen: type[Driver]) -> type[Driver]:
    """The driver to run with, given the one Textual chose: its Linux driver is replaced by
    ``ResumeOnlyWhenSuspended``; any other (headless, web, one named in the environment) is
    kept as it is."""
    return ResumeOnlyWhenSuspended if chosen is LinuxDriver else chosen
