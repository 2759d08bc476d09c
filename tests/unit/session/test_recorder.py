"""The connection recorder on the real runner (scripted links, fake clock): each drop's cause,
recovery time, same tmux session or not, held keys' fate, RTT samples, and the file."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from termkeep.records.connection_history import (
    HistoryJournal,
    RttStats,
    read_history,
    summarize,
)
from termkeep.session.recorder import ConnectionRecorder
from termkeep.supervisor.updates import Notice
from termkeep.transport.link import Cause, Ending
from tests.fixtures.full_disk import no_room_to_grow_files
from tests.unit.supervisor.scripted import settle
from tests.unit.supervisor.test_supervisor import POLICY, Rig, rig_with

EPOCH = 1_796_000_000.0
"""Wall-clock time at the fake clock's zero."""


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with rig_with(POLICY) as built:
        yield built


def recorder_on(rig: Rig, path: Path | None) -> ConnectionRecorder:
    recorder = ConnectionRecorder(
        "web",
        "web.example",
        HistoryJournal(path) if path is not None else None,
        warn=rig.supervisor.announce,
        wall_clock=lambda: EPOCH + rig.clock.now(),
        monotonic=rig.clock.now,
    )
    recorder.follow(rig.supervisor)
    recorder.begin()
    return recorder


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_two_drops_with_their_causes_recoveries_and_held_keys(
    rig: Rig, tmp_path: Path
) -> None:
    path = tmp_path / "connections.jsonl"
    recorder = recorder_on(rig, path)
    old = await rig.attach_first()
    # Drop 1: silence, a probe reattaches the same tmux session 1.5 s later; keys delivered.
    old.responsive = False
    await rig.stall()
    stalled_at = rig.clock.now()
    rig.supervisor.write(b"ls\r")
    rig.clock.advance(1.5)
    await rig.wait_attempts(2)
    second = rig.connector.attempts[-1].attach(reattached_existing=True)
    await rig.wait_state("attached")
    # Drop 2: a reset, and the tmux session is gone: the keys typed meanwhile are discarded.
    second.end(Ending.LOST, Cause.RESET, "connection reset by peer")
    await rig.wait_state("reconnecting")
    dropped_at = rig.clock.now()
    rig.supervisor.write(b"rm -rf build\r")
    while not any(attempt.pending for attempt in rig.connector.attempts):
        rig.clock.advance(0.25)  # the backoff carried over from the short first attach
        await settle()
    probe = next(attempt for attempt in rig.connector.attempts if attempt.pending)
    probe.attach(reattached_existing=False)
    await rig.wait_state("attached")

    first, later = recorder.snapshot().drops
    assert first.cause == "no reply for 5.0 s"
    assert first.start == EPOCH + stalled_at
    assert first.recovery == pytest.approx(1.5)
    assert first.same_tmux is True
    assert (first.held_delivered, first.held_discarded) == (3, 0)
    assert later.cause == "connection reset by peer"
    second_recovery = rig.clock.now() - dropped_at
    assert later.recovery == pytest.approx(second_recovery)
    assert later.same_tmux is False
    assert (later.held_delivered, later.held_discarded) == (0, 13)
    snapshot = recorder.snapshot()
    assert (snapshot.held_delivered, snapshot.held_discarded) == (3, 13)
    assert snapshot.ongoing is None

    recorder.close()
    kinds = [record["kind"] for record in records(path)]
    assert kinds == ["open", "drop", "drop", "close"]
    assert records(path)[-1]["held_discarded"] == 13
    (summary,) = summarize(read_history(path))
    assert summary.drops == 2
    assert summary.worst_recovery == pytest.approx(1.5)
    assert summary.median_recovery == pytest.approx((1.5 + second_recovery) / 2)


async def test_keys_a_given_up_link_never_delivered_count_as_held(rig: Rig) -> None:
    recorder = recorder_on(rig, None)
    old = await rig.attach_first()
    rig.supervisor.write(b"k20 k21 ")
    old.unreceived = b"k20 k21 "
    old.responsive = False
    await rig.stall()
    rig.supervisor.write(b"k22 ")
    await rig.wait_attempts(2)
    rig.connector.attempts[1].attach(reattached_existing=True)
    await rig.wait_state("attached")
    (drop,) = recorder.snapshot().drops
    assert (drop.held_delivered, drop.held_discarded) == (12, 0)


async def test_the_old_link_coming_back_is_the_same_session(rig: Rig) -> None:
    recorder = recorder_on(rig, None)
    old = await rig.attach_first()
    old.responsive = False
    await rig.stall()
    rig.clock.advance(2.0)
    old.responsive = True  # the ping sent at the stall is answered
    await rig.wait_state("attached")
    (drop,) = recorder.snapshot().drops
    assert drop.recovery == pytest.approx(2.0)
    assert drop.same_tmux is True


async def test_without_tmux_there_is_no_session_to_be_the_same(rig: Rig) -> None:
    recorder = recorder_on(rig, None)
    old = await rig.attach_first(tmux=False)
    old.end(Ending.LOST, Cause.SERVER_CLOSED, "the server closed the connection")
    await rig.wait_state("reconnecting")
    await rig.wait_attempts(2)
    rig.connector.attempts[1].attach(tmux=False, reattached_existing=False)
    await rig.wait_state("attached")
    (drop,) = recorder.snapshot().drops
    assert drop.same_tmux is None


async def test_an_outage_still_going_is_shown_and_closing_records_it_unrecovered(
    rig: Rig, tmp_path: Path
) -> None:
    path = tmp_path / "connections.jsonl"
    recorder = recorder_on(rig, path)
    old = await rig.attach_first()
    old.responsive = False
    await rig.stall()
    rig.clock.advance(3.0)
    ongoing = recorder.snapshot().ongoing
    assert ongoing is not None
    assert ongoing.end - ongoing.start == pytest.approx(3.0)
    assert recorder.snapshot().drops == ()
    recorder.close()
    drop = records(path)[1]
    assert (drop["kind"], drop["recovery"], drop["outcome"]) == ("drop", None, "closed")


async def test_rtt_samples_and_byte_counts(rig: Rig) -> None:
    recorder = recorder_on(rig, None)
    link = await rig.attach_first()
    for rtt in (0.05, 0.08, 0.02):
        link.rtt = rtt
        rig.clock.advance(2.5)  # idle: a ping every half keepalive interval
        await settle()
    recorder.received(1000)
    recorder.sent(12)
    snapshot = recorder.snapshot()
    assert snapshot.rtt == (0.05, 0.08, 0.02)
    assert snapshot.rtt_stats == RttStats(count=3, last=0.02, low=0.02, high=0.08)
    assert (snapshot.bytes_in, snapshot.bytes_out) == (1000, 12)


async def test_a_history_file_that_cannot_be_written_is_said_once_and_given_up(
    rig: Rig, tmp_path: Path
) -> None:
    recorder = recorder_on(rig, tmp_path / "connections.jsonl")
    old = await rig.attach_first()
    with no_room_to_grow_files():  # as a full disk: every append fails
        old.end(Ending.LOST, Cause.RESET, "connection reset by peer")
        await rig.wait_state("reconnecting")
        await rig.wait_attempts(2)
        rig.connector.attempts[1].attach()
        await rig.wait_state("attached")
        recorder.close()
    warnings = [n for n in rig.notices if "history" in n]
    assert warnings == ["connection history not saved: File too large"]
    assert len(recorder.snapshot().drops) == 1  # the view still has it
    assert not any(isinstance(u, Notice) and "Traceback" in u.text for u in rig.updates)
