""" "While you were away" in the app, on the demo server through a relay that blackholes:
the tab shows the notice with the lines printed during the outage, and the scrollback view
draws its ruler between the last line seen and the first unseen, and leaves it out of what
is copied."""

from __future__ import annotations

import asyncio
import re
import shutil

import pytest

from termkeep.config.store import ProfileStore
from termkeep.session.away import AWAY_MIN_SECONDS
from termkeep.supervisor.phase import Phase
from termkeep.terminal.emulator import row_text
from termkeep.transport.demo_server import DemoServer
from termkeep.transport.relay import FaultRelay
from termkeep.ui.live_session import LiveSession
from termkeep.ui.screens.scrollback import ScrollbackScreen
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import LIVE, PREFIX, wait_for
from tests.ui.test_app_live import save_relayed_profile

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

LINES = 60
PRINTER = "perl -e '$| = 1; for (1..60) { print qq(n$_\\n); select(undef, undef, undef, 0.2) }'"
_NUMBER = re.compile(r"n(\d+)")


async def test_the_notice_and_the_ruler_in_the_scrollback_view(store: ProfileStore) -> None:
    async with DemoServer() as server:
        relay = FaultRelay(server.host, server.port)
        await relay.start()
        try:
            save_relayed_profile(store, server, relay, "away", "termkeep-ui-away")
            app = RecordingApp(store, open_session=None)
            async with app.run_test(size=(100, 30)) as pilot:
                pane = await app.open_profile("away")
                assert pane is not None
                assert isinstance(pane.session, LiveSession)
                session = pane.session.session
                emulator = session.emulator
                await wait_for(
                    pilot, lambda: pane.status.state is Phase.ATTACHED, "attach", bound=LIVE
                )
                await pilot.press(*f"clear; {PRINTER}", "enter")
                await wait_for(pilot, lambda: "n5" in emulator.text(), "n5", bound=LIVE)

                relay.blackhole()
                await wait_for(pilot, lambda: pane.status.state.lost, "the stall", bound=LIVE)
                snapshot = emulator.snapshot()
                assert snapshot.cursor is not None
                above = [row_text(row) for row in snapshot.rows[: snapshot.cursor.y]]
                seen = max(int(m.group(1)) for row in above if (m := _NUMBER.fullmatch(row)))
                # The rest of the output (0.2 s a line) is printed during the outage.
                await asyncio.sleep(max(AWAY_MIN_SECONDS, (LINES - seen) * 0.2 + 1.0))
                relay.restore()

                await wait_for(
                    pilot,
                    lambda: any("while you were away" in m for m in app.messages),
                    "the away notice",
                    bound=LIVE,
                )
                notice = next(m for m in app.messages if "while you were away" in m)
                assert f": {LINES - seen} lines printed" in notice, notice

                await pilot.press(PREFIX, "left_square_bracket")
                screen = app.screen
                assert isinstance(screen, ScrollbackScreen)
                await wait_for(pilot, lambda: screen.loaded, "the first page", bound=LIVE)
                view = screen.lines_widget
                texts = [line.text for line in view.lines]
                ruler = next(i for i, line in enumerate(view.lines) if line.ruler)
                assert texts[ruler - 1 : ruler + 2 : 2] == [f"n{seen}", f"n{seen + 1}"]
                view.show(ruler)
                drawn = view.render_line(ruler - view.top).text
                assert drawn.startswith("── while you were away (")
                assert drawn.rstrip().endswith("─")

                # A selection across it copies the pane's lines only.
                view.show(ruler - 1)
                await pilot.press("v", "down", "down")
                assert screen.lines_widget.selected_text().splitlines() == [
                    f"n{seen}",
                    f"n{seen + 1}",
                ]
                await pane.session.close()
        finally:
            await relay.close()
