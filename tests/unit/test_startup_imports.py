"""What the app loads before its first frame: nothing that only writing files, connecting or
``--version`` needs. Each of these costs tens of milliseconds of start-up on a slow machine."""

from __future__ import annotations

import subprocess
import sys

import pytest

DEFERRED = ["tomlkit", "importlib.metadata", "asyncssh", "evp"]
"""tomlkit: only to write a file; importlib.metadata: only for --version; asyncssh and the
terminal engine: only once the first tab opens."""


def loaded_at_startup() -> list[str]:
    """Which of DEFERRED a fresh interpreter holds after importing the app's entry modules."""
    probe = (
        "import sys, termkeep.cli, termkeep.ui.app; "
        f"print(sorted(m for m in {DEFERRED!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return [name.strip("' ") for name in result.stdout.strip("[]\n").split(",") if name.strip()]


def test_the_app_starts_without_writers_version_lookup_or_the_session_stack() -> None:
    assert loaded_at_startup() == []


@pytest.mark.parametrize(
    ("argv", "expected"), [(["--version"], "termkeep "), (["--help"], "usage: termkeep")]
)
def test_the_lazily_looked_up_version_still_answers(argv: list[str], expected: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "termkeep", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.startswith(expected)
