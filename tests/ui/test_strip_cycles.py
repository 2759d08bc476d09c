"""Strips drawn are freed when they are replaced, without waiting for Python's full
collection: Textual 8.2 cached a strip divided at its full length (or cropped to all of it)
in the strip's own caches, a cycle per line drawn (termkeep/ui/textual_fixes.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from termkeep.ui import textual_fixes
from tests.ui.pilot import wait_for
from tests.ui.test_terminal_view import TerminalApp

FRAMES = 40


@contextmanager
def garbage_kept() -> Iterator[list[object]]:
    """What becomes cyclic garbage inside the block (the collector is off meanwhile)."""
    gc.collect()
    gc.disable()
    kept: list[object] = []
    try:
        yield kept
    finally:
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        gc.set_debug(0)
        kept.extend(gc.garbage)
        gc.garbage.clear()
        gc.enable()


def strip() -> Strip:
    return Strip([Segment("hello ", Style(bold=True)), Segment("world")])


def test_a_strip_asked_for_all_of_itself_is_freed_by_reference_counting() -> None:
    textual_fixes.apply()
    textual_fixes.apply()  # twice is once
    with garbage_kept() as kept:
        whole = strip()
        assert whole.divide([whole.cell_length]) == [whole]
        assert whole.divide(iter([whole.cell_length, 20])) == [whole]
        assert whole.crop_extend(0, whole.cell_length, None) is whole
        assert whole.crop_extend(-2, whole.cell_length, None) is whole
        del whole
    assert not [thing for thing in kept if isinstance(thing, Strip)]


def test_the_other_answers_are_textual_s() -> None:
    textual_fixes.apply()
    parts = strip().divide([3, 11])
    assert [part.text for part in parts] == ["hel", "lo world"]
    assert strip().crop_extend(2, 14, None).text == "llo world   "
    assert strip().crop_extend(0, 5, None).text == "hello"


async def test_a_view_drawing_output_leaves_no_strip_for_the_collector() -> None:
    textual_fixes.apply()
    app = TerminalApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        with garbage_kept() as kept:
            for number in range(FRAMES):
                drawn = app.view.frames_drawn
                app.terminal.feed(f"line {number}\r\n".encode())
                await wait_for(pilot, lambda: app.view.frames_drawn > drawn, "a frame")  # noqa: B023
                await pilot.pause()
    strips = [thing for thing in kept if isinstance(thing, Strip)]
    assert len(strips) < FRAMES / 4, f"{len(strips)} strips left for the collector"
