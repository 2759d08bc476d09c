""" "While you were away" on the real runner (scripted links, fake clock): one notice after
an outage of 5 s or more (counted from the last byte received), none after a quick reset or
while attached, whatever the time; the line goes to the connection history with its drop.
The scripted links have no side channels, so the pane cannot be read and the notice says
so: the count itself is tested against sshd and tmux (tests/integration/test_away.py) and
in tests/unit/tmux/test_away.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from termkeep.session.away import AWAY_MIN_SECONDS, AwayWatch
from termkeep.supervisor.updates import Notice, Update
from termkeep.tmux.attach import PlainAttach
from termkeep.tmux.away import SeenScreen
from termkeep.transport.link import Cause, Ending
from tests.fixtures.waiting import wait_until_async
from tests.unit.session.test_recorder import recorder_on, records
from tests.unit.supervisor.scripted import ScriptedLink, settle
from tests.unit.supervisor.test_supervisor import POLICY, Rig, rig_with

AWAY = "while you were away"


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with rig_with(POLICY) as built:
        yield built


class Notices:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, update: Update) -> None:
        if isinstance(update, Notice):
            self.texts.append(update.text)

    def away(self) -> list[str]:
        return [text for text in self.texts if text.startswith(AWAY)]


async def reattach(rig: Rig, attempts: int) -> None:
    await rig.wait_attempts(attempts + 1)
    while not any(attempt.pending for attempt in rig.connector.attempts):
        rig.clock.advance(0.25)  # a backoff before the next probe
        await settle()
    probe = next(attempt for attempt in rig.connector.attempts if attempt.pending)
    probe.attach(reattached_existing=True)
    await rig.wait_state("attached")


async def reset(rig: Rig) -> None:
    """The server resets the connection; a probe reattaches at once."""
    link = rig.supervisor.current_link
    assert isinstance(link, ScriptedLink)
    attempts = len(rig.connector.attempts)
    link.end(Ending.LOST, Cause.RESET, "connection reset by peer")
    await rig.wait_state("reconnecting")
    await reattach(rig, attempts)


async def silence(rig: Rig, seconds: float) -> None:
    """The attached link goes silent; a probe reattaches the same session ``seconds`` after
    the stall was noticed."""
    link = rig.supervisor.current_link
    assert isinstance(link, ScriptedLink)
    attempts = len(rig.connector.attempts)
    link.responsive = False
    await rig.stall()
    rig.clock.advance(seconds)
    await reattach(rig, attempts)


async def test_one_notice_after_a_long_outage_none_after_a_short_one(
    rig: Rig, tmp_path: Path
) -> None:
    path = tmp_path / "connections.jsonl"
    recorder = recorder_on(rig, path)
    watch = AwayWatch(
        rig.supervisor,
        PlainAttach("s", probe_timeout=1.0),
        recorder,
        monotonic=rig.clock.now,
    )
    screens: list[SeenScreen] = []

    def seen() -> SeenScreen:
        screens.append(SeenScreen(("a", "b")))
        return screens[-1]

    watch.watch_screen(seen)
    notices = Notices()
    rig.supervisor.add_listener(notices)
    await rig.attach_first()
    for _ in range(120):  # a minute attached and idle (pings answered): nothing to say
        rig.clock.advance(0.5)
        await settle()
    assert notices.away() == []
    await reset(rig)
    assert notices.away() == []
    assert len(screens) == 1  # the screen is taken at each drop, and only then
    await silence(rig, AWAY_MIN_SECONDS * 4)
    await wait_until_async(lambda: bool(notices.away()), timeout=10, what="the away notice")
    (said,) = notices.away()
    assert said.startswith(f"{AWAY} (")
    assert said.endswith("): new lines not counted: the pane could not be read")
    assert len(screens) == 2
    await watch.close()
    recorder.close()
    assert recorder.snapshot().drops[-1].away == said
    assert [line["text"] for line in records(path) if line["kind"] == "away"] == [said]


async def test_the_old_link_coming_back_after_a_long_silence_is_told_too(
    rig: Rig, tmp_path: Path
) -> None:
    recorder = recorder_on(rig, tmp_path / "connections.jsonl")
    watch = AwayWatch(
        rig.supervisor, PlainAttach("s", probe_timeout=1.0), recorder, monotonic=rig.clock.now
    )
    notices = Notices()
    rig.supervisor.add_listener(notices)
    await rig.supervisor.start()
    await rig.wait_attempts(1)
    # The session was new at this attach: only the link itself coming back keeps it.
    old = rig.connector.attempts[0].attach(tmux=True, reattached_existing=False)
    await rig.wait_state("attached")
    old.responsive = False
    await rig.stall()
    rig.clock.advance(AWAY_MIN_SECONDS * 2)
    old.responsive = True
    await rig.wait_state("attached")
    assert rig.supervisor.current_link is old
    await wait_until_async(lambda: bool(notices.away()), timeout=10, what="the away notice")
    await watch.close()
