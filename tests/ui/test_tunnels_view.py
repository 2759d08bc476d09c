"""The tunnels view (prefix f) on a tab's real TunnelSet: rows, a failure and its cause, add,
remove and save to the profile; the status line's tunnel count. The tab itself is scripted:
the forwards are real listeners on loopback, with no SSH connection behind them."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator

import pytest
from textual.widgets import DataTable, Static

from termkeep.config.forwards import parse_flag
from termkeep.config.store import ProfileStore
from termkeep.supervisor.phase import Phase
from termkeep.transport.tunnels import TunnelSet, TunnelState
from termkeep.ui.screens.tunnels import TunnelsScreen, byte_count
from termkeep.ui.session_api import StatusSnapshot
from termkeep.ui.widgets.status_line import status_parts
from tests.fixtures.sshd import free_loopback_port
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import PREFIX
from tests.ui.test_snapshots import SnapCompare


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield busy.getsockname()[1]


def cells(screen: TunnelsScreen) -> list[list[str]]:
    table: DataTable[object] = screen.query_one("#tunnels", DataTable)
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


async def test_the_view_lists_adds_removes_and_saves(store: ProfileStore, busy_port: int) -> None:
    local, socks, added = free_loopback_port(), free_loopback_port(), free_loopback_port()
    tunnels = TunnelSet(
        [
            parse_flag("-L", f"{local}:db:5432"),
            parse_flag("-L", f"127.0.0.1:{busy_port}:web:80"),
            parse_flag("-D", str(socks)),
        ]
    )
    await tunnels.start()
    app = RecordingApp(store)
    try:
        async with app.run_test(size=(130, 30)) as pilot:
            await app.open_profile("web-1")
            session = app.sessions["web-1"]
            session.tunnels = tunnels
            session.profile = store.load("web-1")
            await pilot.press(PREFIX, "f")
            screen = app.screen
            assert isinstance(screen, TunnelsScreen)
            rows = cells(screen)
            assert [row[:3] for row in rows] == [
                [f"-L {local}:db:5432", f"localhost:{local}", "waiting for the link"],
                [f"-L 127.0.0.1:{busy_port}:web:80", f"127.0.0.1:{busy_port}", "FAILED"],
                [f"-D {socks}", f"localhost:{socks}", "waiting for the link"],
            ]
            await pilot.press("down")  # the failed one: its cause under the table
            problem = str(screen.query_one("#tunnel-problem", Static).render())
            assert problem == (
                f"-L 127.0.0.1:{busy_port}:web:80: 127.0.0.1:{busy_port} is already in use "
                "by another program; pick another port"
            )

            await pilot.press("d")
            await pilot.pause()
            assert [row[0] for row in cells(screen)] == [f"-L {local}:db:5432", f"-D {socks}"]

            await pilot.press("a", *f"-R {added}:localhost:22", "enter")
            await pilot.pause()
            assert cells(screen)[-1][:3] == [
                f"-R {added}:localhost:22",
                f"server localhost:{added}",
                "starting",  # asked of the server at the next attach
            ]
            await pilot.press("a", *f"-L {local}:other:1", "enter")
            await pilot.pause()
            assert app.messages[-1] == (
                f"Not added: -L {local}:db:5432 and -L {local}:other:1 both listen on "
                f"localhost:{local}; give one of them another port"
            )

            await pilot.press("s")
            assert app.messages[-1] == "Saved 3 forwards to web-1"
            assert [forward.flag for forward in store.load("web-1").forwards] == [
                f"-L {local}:db:5432",
                f"-D {socks}",
                f"-R {added}:localhost:22",
            ]
            await pilot.press("escape")
            assert not isinstance(app.screen, TunnelsScreen)
    finally:
        await tunnels.close()


async def test_a_tab_without_tunnels_or_profile_says_so(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(100, 20)) as pilot:
        await app.open_profile("web-1")
        await pilot.press(PREFIX, "f")
        assert app.messages[-1] == "This tab carries no tunnels"
        session = app.sessions["web-1"]
        session.tunnels = TunnelSet([])
        session.profile = dataclasses.replace(store.load("web-1"), name="not-saved")
        await pilot.press(PREFIX, "f", "s")
        assert app.messages[-1] == "This tab has no saved profile: save it first (prefix w)"


def test_status_line_counts_tunnels_and_marks_those_down() -> None:
    attached = StatusSnapshot(state=Phase.ATTACHED, destination="db")
    assert status_parts(dataclasses.replace(attached, tunnels=1)) == ["db", "attached", "1 tunnel"]
    assert status_parts(dataclasses.replace(attached, tunnels=3, tunnels_down=1))[-1] == (
        "3 tunnels, 1 down"
    )
    assert status_parts(attached) == ["db", "attached"]


def test_byte_counts_read_like_curls() -> None:
    assert [byte_count(n) for n in (0, 999, 1000, 123_456, 4_500_000, 7 * 10**12)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "123.5 kB",
        "4.5 MB",
        "7000.0 GB",
    ]


def test_tunnels_view_snapshot(snap_compare: SnapCompare, store: ProfileStore) -> None:
    # Fixed ports and numbers (nothing is bound: the view only shows the set's state).
    tunnels = TunnelSet(
        [
            parse_flag("-L", "5432:db.internal:5432"),
            parse_flag("-R", "9000:localhost:22"),
            parse_flag("-D", "1080"),
        ]
    )
    up, refused, socks = tunnels.tunnels
    up.state, up.open, up.total, up.bytes_sent, up.bytes_received = (
        TunnelState.UP,
        1,
        4,
        52_311,
        4_210_000,
    )
    refused.state = TunnelState.FAILED
    refused.error = "the server refused to listen on server localhost:9000"
    socks.state, socks.broken = TunnelState.WAITING, 1
    app = RecordingApp(store)

    async def run_before(pilot: object) -> None:
        await app.open_profile("db-main")
        app.sessions["db-main"].tunnels = tunnels
        app.run_keymap_action("tunnels.manage")

    assert snap_compare(app, terminal_size=(130, 24), run_before=run_before)
