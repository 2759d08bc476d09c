"""``termkeep demo`` cleans up after itself even when the app stops on an unexpected error:
its temporary directory, keys and private tmux server are gone, and the user gets one line,
not a traceback."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from termkeep.ui import demo
from termkeep.ui.app import TermkeepApp

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class PlantedCrashError(RuntimeError):
    """An error outside every tab: the app must stop."""


def processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line names ``text`` (read from /proc, nothing is signalled)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue  # the process ended while we looked
    return found


async def test_the_demo_removes_its_directory_and_tmux_after_a_crash(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    log_path: Path,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the demo's mkdtemp lands here
    crashed: list[TermkeepApp] = []
    real_run = TermkeepApp.run_async

    async def headless_run(self: TermkeepApp, **kw: Any) -> None:
        crashed.append(self)
        await real_run(self, headless=True, size=(100, 30))

    def crash_at_the_first_tab_change(self: TermkeepApp, *_: object) -> None:
        # The demo's tab is connecting by then: its server, relay and tmux are running.
        raise PlantedCrashError("planted at the first tab change")

    monkeypatch.setattr(TermkeepApp, "run_async", headless_run)
    monkeypatch.setattr(TermkeepApp, "on_session_pane_changed", crash_at_the_first_tab_change)

    code = await demo.run_demo()

    assert code == 1
    assert crashed
    leftovers = list(tmp_path.glob("termkeep-demo-*"))
    assert leftovers == []
    assert processes_mentioning(str(tmp_path)) == []
    # What the user reads instead of Textual's traceback.
    printed = " ".join(capsys.readouterr().err.split())
    assert "termkeep stopped on an unexpected error; the details are in" in printed
    assert str(log_path) in printed
    assert "Traceback" not in printed
    assert "PlantedCrashError: planted at the first tab change" in log_path.read_text()
