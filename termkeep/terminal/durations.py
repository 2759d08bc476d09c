"""Durations in plain words, the one formatter for every notice, status line and record.

Each place wants its own precision (a status line ``12 s``, a connection history ``12.3 s``,
the age of a tmux session ``3 h 5 min``), so the precision is a ``DurationStyle``, not another
function: ``duration_text(4.2, RECORD)``. Round trips are milliseconds (``milliseconds_text``).
"""

from __future__ import annotations

from dataclasses import dataclass

_UNITS = ((86_400, "d"), (3_600, "h"), (60, "min"), (1, "s"))
"""Size in seconds and name of each unit, largest first."""


@dataclass(frozen=True, slots=True)
class DurationStyle:
    """How precisely a duration is written."""

    decimals: int
    """Decimals below 10 s, one fewer above; 0: whole seconds, rounded down, never negative."""

    largest: int = 1
    """The largest unit used, in seconds (1: always seconds, ``130 s``)."""

    step: int = 2
    """A larger unit takes over at this many of it (2: ``90 s``, then ``2 min``)."""

    compound: bool = False
    """Two units, rounded down (``4 min 5 s``), instead of one, rounded (``4 min``)."""

    finest: int = 1
    """The smallest unit a compound duration shows beside a larger one (60: ``12 min``)."""


NOTICE = DurationStyle(decimals=1)
"""``0.4 s``, ``12 s``, ``130 s``: what a notice says about one drop or wait."""

STATUS = DurationStyle(decimals=1, largest=3_600)
"""``0.4 s``, ``12 s``, ``5 min``, ``5 h``: the status line's ages and waits."""

RECORD = DurationStyle(decimals=2, largest=3_600, compound=True)
"""``0.42 s``, ``12.3 s``, ``4 min 5 s``, ``2 h 3 min``: connection history figures."""

AGE = DurationStyle(decimals=0, largest=86_400, step=1, compound=True, finest=60)
"""``40 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``: how long ago, coarse."""


def duration_text(seconds: float | None, style: DurationStyle) -> str:
    """``seconds`` in ``style``; ``-`` for None (not measured)."""
    if seconds is None:
        return "-"
    if style.decimals == 0:
        seconds = max(0, int(seconds))
    if seconds < 10:
        return f"{seconds:.{style.decimals}f} s"
    size, name, index = next(
        (size, name, index)
        for index, (size, name) in enumerate(_UNITS)
        if size == 1 or (size <= style.largest and seconds >= style.step * size)
    )
    if size == 1:
        return f"{seconds:.{max(style.decimals - 1, 0)}f} s"
    if not style.compound:
        return f"{seconds / size:.0f} {name}"
    whole = int(seconds)
    smaller, smaller_name = _UNITS[index + 1]
    if smaller < style.finest:
        return f"{whole // size} {name}"
    return f"{whole // size} {name} {whole % size // smaller} {smaller_name}"


def milliseconds_text(seconds: float) -> str:
    """A round trip in whole milliseconds: ``42 ms``."""
    return f"{seconds * 1000:.0f} ms"
