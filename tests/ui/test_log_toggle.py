"""Prefix l starts and stops the active tab's session log, on the demo server (real SSH and
tmux); the log lands where the log_path pattern says, 0600."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from termkeep.config.settings import Settings
from termkeep.config.store import ProfileStore
from termkeep.supervisor.phase import Phase
from termkeep.transport.demo_server import DemoServer
from termkeep.ui.live_session import LiveSession
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import LIVE, PREFIX, wait_for
from tests.ui.test_app_live import demo_profile

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


async def test_prefix_l_toggles_the_tabs_log(store: ProfileStore, tmp_path: Path) -> None:
    async with DemoServer() as server:
        store.save(demo_profile(server, "demo", "termkeep-log-toggle"))
        settings = Settings(log_path=str(tmp_path / "logs" / "&P-&H.log"))
        app = RecordingApp(store, settings=settings, open_session=None)
        async with app.run_test(size=(100, 30)) as pilot:
            pane = await app.open_profile("demo")
            assert pane is not None
            assert isinstance(pane.session, LiveSession)
            await wait_for(pilot, lambda: pane.status.state is Phase.ATTACHED, "attach", bound=LIVE)
            log = tmp_path / "logs" / f"demo-{server.host}.log"
            assert not log.exists()  # log = "off" by default

            await pilot.press(PREFIX, "l")
            assert any(m == f"demo: logging to {log}" for m in app.messages)
            emulator = pane.session.session.emulator
            await pilot.press(*"echo logged-$((2*3))", "enter")
            await wait_for(pilot, lambda: "logged-6" in emulator.text(), "the echo", bound=LIVE)
            await wait_for(pilot, lambda: "logged-6" in log.read_text(), "the log", bound=LIVE)

            await pilot.press(PREFIX, "l")
            assert any(m == f"demo: log stopped: {log}" for m in app.messages)
            await pilot.press(*"echo unlogged-$((3*3))", "enter")
            await wait_for(pilot, lambda: "unlogged-9" in emulator.text(), "the echo", bound=LIVE)
            assert "unlogged-9" not in log.read_text()
            assert stat.S_IMODE(log.stat().st_mode) == 0o600
            await pane.session.close()
