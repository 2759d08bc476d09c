"""Where a transfer resumes: the acknowledged prefix, never what arrived beyond a hole; how
much goes again; and the pump's bookkeeping when requests finish out of order, come back
short or fail."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from termkeep.transfers.pipeline import AckedRanges, Plan, Resends, SourceShrankError, pump

BLOCK = 100


def test_the_resume_point_stops_at_the_first_hole() -> None:
    ranges = AckedRanges(0)
    ranges.done(200, 300)  # block 2 acknowledged before blocks 0 and 1
    ranges.done(0, 100)
    assert ranges.acked == 100  # block 1 may never have been written: resume there
    assert ranges.done_bytes == 200
    ranges.done(100, 200)
    assert ranges.acked == 300
    assert ranges.done_bytes == 300


def test_a_resume_starts_from_its_own_offset() -> None:
    ranges = AckedRanges(500)
    ranges.done(600, 700)
    assert ranges.acked == 500
    ranges.done(500, 600)
    assert ranges.acked == 700


def test_resends_count_only_bytes_below_the_furthest_sent() -> None:
    resends = Resends()
    for offset in range(0, 800, BLOCK):
        resends.sending(offset, offset + BLOCK)
    assert resends.resent == 0
    for offset in range(300, 1000, BLOCK):  # resumed at 300 after sending up to 800
        resends.sending(offset, offset + BLOCK)
    assert resends.resent == 500


async def test_out_of_order_completions_and_a_short_read_leave_every_byte_done_once() -> None:
    delays = {0: 0.03, 100: 0.0, 200: 0.01}
    moved: list[tuple[int, int]] = []

    async def io(offset: int, size: int) -> int:
        await asyncio.sleep(delays.get(offset, 0.0))
        count = size // 2 if offset == 300 else size  # the server sent half: ask for the rest
        moved.append((offset, count))
        return count

    ranges, resends = AckedRanges(0), Resends()
    seen: list[int] = []
    await pump(Plan(0, 550, BLOCK, requests=3), io, ranges, resends, seen.append)

    assert ranges.acked == 550
    covered = sorted(moved)
    assert sum(count for _, count in covered) == 550
    assert covered[0][0] == 0
    for (offset, count), (following, _) in itertools.pairwise(covered):
        assert offset + count == following  # no gap, no overlap
    assert seen[-1] == 550
    assert resends.resent == 0


async def test_a_failure_cancels_the_rest_and_keeps_the_acknowledged_prefix() -> None:
    started: list[int] = []

    async def io(offset: int, size: int) -> int:
        started.append(offset)
        if offset == 300:
            await asyncio.sleep(0.01)
            raise ConnectionError("link lost")
        if offset > 300:
            await asyncio.sleep(10)  # in flight when the link goes: cancelled
        return size

    ranges = AckedRanges(0)
    with pytest.raises(ConnectionError):
        await pump(Plan(0, 1000, BLOCK, requests=4), io, ranges, Resends(), lambda _done: None)
    assert ranges.acked == 300
    assert max(started) < 300 + 4 * BLOCK  # never more than the window in flight


async def test_a_slow_block_holds_back_the_blocks_beyond_one_window_of_it() -> None:
    """Requests in flight alone do not bound what a resume sends again: blocks after a slow
    one would keep completing and new ones keep going out. The pump sends none that ends
    more than one window past the acknowledged prefix."""
    release = asyncio.Event()
    started: list[int] = []

    async def io(offset: int, size: int) -> int:
        started.append(offset)
        if offset == 0:
            await release.wait()
        return size

    ranges = AckedRanges(0)
    pumping = asyncio.ensure_future(
        pump(Plan(0, 2000, BLOCK, requests=4), io, ranges, Resends(), lambda _done: None)
    )
    for _ in range(100):  # every other block's round trips, while block 0 is held
        await asyncio.sleep(0)
    held_back = max(started)
    release.set()
    await asyncio.wait_for(pumping, 10)
    assert held_back == 3 * BLOCK  # blocks 0-3: one window from the prefix at 0
    assert ranges.acked == 2000
    assert sorted(started) == list(range(0, 2000, BLOCK))


async def test_a_source_that_ends_early_is_an_error_not_a_hang() -> None:
    async def io(offset: int, size: int) -> int:
        return 0 if offset >= 200 else size

    with pytest.raises(SourceShrankError):
        await pump(Plan(0, 500, BLOCK), io, AckedRanges(0), Resends(), lambda _done: None)
