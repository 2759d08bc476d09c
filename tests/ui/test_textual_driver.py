"""The app runs on Textual's Linux driver with its resume made safe (textual_fixes): a SIGCONT
it did not suspend for must not start a second reader of the keyboard. The behaviour itself is
shown on the real app in tests/integration/test_cli_e2e.py
(test_app_keys_stay_in_order_after_the_app_is_stopped_and_continued); these check the wiring.
"""

from __future__ import annotations

from textual.drivers.headless_driver import HeadlessDriver
from textual.drivers.linux_driver import LinuxDriver

from termkeep.config.store import ProfileStore
from termkeep.ui import textual_fixes
from tests.ui.fakes import RecordingApp


def test_only_the_linux_driver_is_replaced() -> None:
    assert textual_fixes.driver_class(LinuxDriver) is textual_fixes.ResumeOnlyWhenSuspended
    assert textual_fixes.driver_class(HeadlessDriver) is HeadlessDriver


def test_the_app_runs_on_the_safe_driver(store: ProfileStore) -> None:
    app = RecordingApp(store)
    assert app.driver_class is textual_fixes.ResumeOnlyWhenSuspended
