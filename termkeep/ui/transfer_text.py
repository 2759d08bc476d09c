"""Transfers in words, for the status line and the transfers view. Pure: no screen."""

from __future__ import annotations

import time
from collections.abc import Sequence

from termkeep.terminal.display_text import safe_text
from termkeep.terminal.durations import AGE, STATUS, duration_text
from termkeep.transfers.model import Direction, TransferState, TransferView, size_text

ARROWS = {Direction.UPLOAD: "↑", Direction.DOWNLOAD: "↓"}
"""Which way a file goes: up to the server, down from it."""


def active_view(views: Sequence[TransferView]) -> TransferView | None:
    """The transfer the status line follows: the one running (or waiting for the link),
    else the first queued one, else None."""
    moving = [
        view for view in views if view.state in {TransferState.RUNNING, TransferState.WAITING}
    ]
    queued = [view for view in views if view.state is TransferState.QUEUED]
    first = moving or queued
    return first[0] if first else None


def active_line(views: Sequence[TransferView]) -> str | None:
    """``↑ report.pdf 42% 12.3 MB/s 8 s left (+2 queued)``, or None when nothing moves."""
    active = active_view(views)
    if active is None:
        return None
    queued = sum(view.state is TransferState.QUEUED and view is not active for view in views)
    more = f" (+{queued} queued)" if queued else ""
    if active.state is TransferState.WAITING:
        text = f"{active.name} {_percent(active)} waiting for the link".replace("  ", " ")
    else:
        text = active.summary()
    return f"{ARROWS[active.direction]} {safe_text(text)}{more}"


def view_line(view: TransferView) -> str:
    """One row of the transfers view: way, name, state, progress and why."""
    parts = [ARROWS[view.direction], safe_text(view.name), f"[{view.state}]"]
    if view.size is not None:
        parts.append(f"{size_text(view.done)} of {size_text(view.size)}")
    if view.state is TransferState.RUNNING:
        parts += [_percent(view)] if view.fraction is not None else []
        if view.rate is not None:
            parts.append(f"{size_text(view.rate)}/s")
        if view.eta is not None:
            parts.append(f"{duration_text(view.eta, STATUS)} left")
    if view.reason:
        parts.append(f"— {safe_text(view.reason)}")
    parts.append(f"→ {safe_text(view.destination)}")
    return " ".join(part for part in parts if part)


def _percent(view: TransferView) -> str:
    fraction = view.fraction
    return "" if fraction is None else f"{fraction:.0%}"


def age_text(mtime: float, now: float | None = None) -> str:
    """How long ago a file changed: ``3 min``, ``2 d``; empty when the server did not say."""
    if mtime <= 0:
        return ""
    now = time.time() if now is None else now
    return duration_text(max(0.0, now - mtime), AGE)
