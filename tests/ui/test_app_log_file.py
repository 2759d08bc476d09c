"""The app's own log file gets the checks of session logs: 0700 directories (parents
included), a 0600 regular file, never written through a symlink."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from termkeep.ui import failures


def _log_one_warning(path: Path) -> None:
    failures.start_logging(path)
    try:
        logging.getLogger("termkeep.test").warning("marker-%d", 42)
    finally:
        failures.stop_logging(path)


def test_the_app_log_is_private_down_to_its_parents(state_dir: Path) -> None:
    path = state_dir / "nested" / failures.LOG_NAME
    _log_one_warning(path)
    assert "marker-42" in path.read_text()
    for directory in (state_dir, path.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symlink_planted_as_the_app_log_is_never_written_through(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep")
    path = tmp_path / failures.LOG_NAME
    path.symlink_to(target)
    _log_one_warning(path)  # the handler fails quietly; the app goes on
    assert target.read_text() == "keep"
