"""Corrections to Textual that termkeep cannot wait for, each with its evidence.

Textual 8.2's ``StylesCache.get_inner_outer`` is an instance method under a class-wide
``functools.lru_cache(1024)``, so every widget's StylesCache (and the rendered Strips it
holds) stays reachable from the cache until 1024 newer entries push it out (upstream issue
Textualize/textual#6665, open). termkeep shows a notification for each tab that drops and
recovers, each one two widgets: with six tabs, every server abort added about 17 StylesCaches
to that cache (scripts/bench_memory.py), until it held 1024 of them with all their Strips.
The method never reads ``self``: only the two colours make the answer, so the fix caches on
them alone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style

CACHE_SIZE = 1024
"""Textual's own size for this cache: distinct background pairs, not widgets."""

type InnerOuter = Callable[[Color, Color], tuple[Style, Style]]


def apply() -> None:
    """Make ``StylesCache.get_inner_outer`` cache by colours only (once; a no-op when
    Textual's own method is no longer the leaking kind)."""
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
