"""The scrollback view's keys, apart from the view so that the help overlay can list them
without loading the SSH stack the view's history source needs."""

from __future__ import annotations

HISTORY_KEYS: tuple[tuple[str, str], ...] = (
    ("shift+pageup / wheel up", "in a tab: open the history a page / three lines up"),
    ("pageup / pagedown / space", "a page up / down (with shift too)"),
    ("up / down, k / j", "a line up / down"),
    ("wheel", "three lines up / down"),
    ("shift+pagedown, wheel down", "at the bottom: back to the live screen"),
    ("g / G, home / end", "the oldest line / the newest"),
    ("/ and ?", "search forward / back (smartcase); n / N: next / previous match"),
    ("a", "the first line printed while you were away (the ruler above it)"),
    ("v, then y or enter", "select from the cursor line, copy (or drag with the mouse)"),
    ("q / escape", "leave (any other key leaves and goes on to the remote)"),
)
"""The scrollback view's keys, listed by the help overlay and the README."""
