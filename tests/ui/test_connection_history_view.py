"""Prefix i: the active tab's connection history, on a scripted session, and once on the demo
server (real SSH and tmux) through the live opener. The history of real drops on the real
sshd is checked in tests/integration/test_connection_history.py."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable, Sparkline, Static

from termkeep.config.store import ProfileStore
from termkeep.records.connection_history import ConnectionHistory, Drop, RttStats
from termkeep.supervisor.phase import Phase
from termkeep.transport.demo_server import DemoServer
from termkeep.ui.screens.connection_history import ConnectionHistoryScreen
from tests.ui.fakes import SCRIPTED_START, RecordingApp
from tests.ui.pilot import LIVE, PREFIX, Bound, wait_for
from tests.ui.test_app_live import demo_profile

SIZE = (120, 36)
HOSTILE_CAUSE = "[@click=app.quit]reset[/] by peer"


def scripted_history(name: str) -> ConnectionHistory:
    """An hour-long session: two drops (the same tmux session back, then a new one with the
    keys typed meanwhile discarded), an outage going on now, and a few round trips."""

    def drop(start: float, recovery: float | None, **changes: object) -> Drop:
        shown = Drop(
            session="0a1b2c3d",
            profile=name,
            host=f"{name}.example",
            start=SCRIPTED_START + start,
            end=SCRIPTED_START + start + (recovery or 12.0),
            cause="no reply for 6.0 s",
            recovery=recovery,
            same_tmux=True,
        )
        return dataclasses.replace(shown, **changes)  # type: ignore[arg-type]

    return ConnectionHistory(
        profile=name,
        host=f"{name}.example",
        started=SCRIPTED_START,
        now=SCRIPTED_START + 3600,
        drops=(
            drop(600, 0.42, held_delivered=3),
            drop(1800, 2.5, same_tmux=False, cause=HOSTILE_CAUSE, held_discarded=13),
        ),
        ongoing=drop(3588, None, same_tmux=None, cause="connection lost: network unreachable"),
        rtt=(0.012, 0.011, 0.014, 0.030, 0.080, 0.013, 0.012, 0.015, 0.011, 0.012),
        rtt_stats=RttStats(count=10, last=0.012, low=0.011, high=0.080),
        bytes_in=1_250_000,
        bytes_out=3_456,
        held_delivered=3,
        held_discarded=13,
    )


def cell_text(table: DataTable[object], row: int) -> list[str]:
    return [str(cell) for cell in table.get_row_at(row)]


def static_text(screen: ConnectionHistoryScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_prefix_i_shows_the_tabs_drops_rtt_bytes_and_held_keys(
    store: ProfileStore,
) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await app.open_profile("web-1")
        session = app.sessions["web-1"]
        session.history = scripted_history("web-1")
        await pilot.press(PREFIX, "i")
        await wait_for(pilot, lambda: isinstance(app.screen, ConnectionHistoryScreen), "view")
        screen = app.screen
        assert isinstance(screen, ConnectionHistoryScreen)
        table = screen.query_one("#drops", DataTable)
        assert table.row_count == 3
        first, second, ongoing = (cell_text(table, row) for row in range(3))
        assert first[2:] == ["0.42 s", "same", "3 B delivered", "no reply for 6.0 s"]
        # A cause that looks like markup is shown as it came, and does nothing.
        assert second[2:] == ["2.50 s", "new session", "13 B discarded", HOSTILE_CAUSE]
        assert ongoing[1:4] == ["now", "down 12.0 s", "…"]
        totals = static_text(screen, "#totals")
        assert "up 60 min 0 s" in totals
        assert "3 drops" in totals
        assert "median recovery 1.46 s" in totals
        assert "worst 2.50 s" in totals
        assert "down now for 12.0 s" in totals
        traffic = static_text(screen, "#traffic")
        assert "in 1.2 MB" in traffic
        assert "out 3.4 KB" in traffic
        assert "3 B delivered, 13 B discarded" in traffic
        assert screen.query_one("#rtt", Sparkline).data == [
            12.0,
            11.0,
            14.0,
            30.0,
            80.0,
            13.0,
            12.0,
            15.0,
            11.0,
            12.0,
        ]
        assert static_text(screen, "#rtt-numbers") == (
            "last 12 ms  ·  lowest 11 ms  ·  highest 80 ms  ·  10 samples since the start"
        )

        # Open, it follows the session: the outage ends, and appears as recovered.
        outage = session.history.ongoing
        assert outage is not None
        ended = dataclasses.replace(outage, recovery=12.0)
        session.history = dataclasses.replace(
            session.history, drops=(*session.history.drops, ended), ongoing=None
        )
        await wait_for(
            pilot,
            lambda: table.row_count == 3 and cell_text(table, 2)[2] == "12.0 s",
            "the refresh",
            bound=Bound(6.0, 0.02),
        )
        await pilot.press("escape")
        await wait_for(
            pilot,
            lambda: not isinstance(app.screen, ConnectionHistoryScreen),
            "the connection history view to close",
        )
        assert app.query_one("#prefix-hint")  # back to the tabs


async def test_a_tab_without_drops_says_so(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await app.open_profile("web-1")
        await pilot.press(PREFIX, "i")
        await wait_for(pilot, lambda: isinstance(app.screen, ConnectionHistoryScreen), "view")
        screen = app.screen
        assert isinstance(screen, ConnectionHistoryScreen)
        assert static_text(screen, "#no-drops") == "No drops so far."
        assert not screen.query_one("#drops", DataTable).display
        assert static_text(screen, "#rtt-numbers") == "no round trip measured yet"
        assert "keys typed during outages: none" in static_text(screen, "#traffic")


async def test_without_a_tab_there_is_nothing_to_show(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(PREFIX, "i")
        await wait_for(pilot, lambda: app.messages, "the notice")
        assert app.messages[-1].startswith("No tab open")
        assert not isinstance(app.screen, ConnectionHistoryScreen)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
async def test_a_live_tab_records_and_shows_its_drop(store: ProfileStore, state_dir: Path) -> None:
    async with DemoServer() as server:
        store.save(demo_profile(server, "demo", "termkeep-connection-history"))
        app = RecordingApp(store, open_session=None)  # the real opener and TerminalView
        async with app.run_test(size=SIZE) as pilot:
            pane = await app.open_profile("demo")
            assert pane is not None
            await wait_for(pilot, lambda: pane.status.state is Phase.ATTACHED, "attach", bound=LIVE)
            await pilot.press(PREFIX, "r")  # the user's own reconnect counts as a drop
            await wait_for(
                pilot,
                lambda: pane.session.connection_history().drops,
                "the reconnect recorded",
                bound=LIVE,
            )
            await pilot.press(PREFIX, "i")
            await wait_for(pilot, lambda: isinstance(app.screen, ConnectionHistoryScreen), "view")
            table = app.screen.query_one("#drops", DataTable)
            (row,) = (cell_text(table, index) for index in range(table.row_count))
            assert row[3:] == ["same", "-", "reconnect requested"]
            await pilot.press("escape", PREFIX, "q", "y")  # quitting closes the session
            await wait_for(pilot, lambda: not app.is_running, "the app to quit", bound=LIVE)
    records = (state_dir / "connections.jsonl").read_text().splitlines()
    assert [json.loads(line)["kind"] for line in records] == ["open", "drop", "close"]
