"""The layers hold at run time too: the core runs without textual (import-linter checks the
imports statically; this checks what actually gets loaded)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE_MODULES = [
    "termkeep.platform.files",
    "termkeep.platform.tty",
    "termkeep.config.store",
    "termkeep.records.connection_history",
    "termkeep.records.session_log",
    "termkeep.records.tab_state",
    "termkeep.terminal.emulator",
    "termkeep.transport.ssh.connector",
    "termkeep.tmux.attach",
    "termkeep.tmux.sessions",
    "termkeep.supervisor.supervisor",
    "termkeep.session.core",
    "termkeep.session.tab_session",
    "termkeep.headless.attach",
]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_load_textual(module: str) -> None:
    probe = f"import sys, {module}; print('textual' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"


def test_a_tabs_terminal_loads_no_ssh() -> None:
    # A view's port (tests, bench_terminal's memory runs) is built without the SSH stack.
    probe = "import sys, termkeep.session.tab; print('asyncssh' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"


def test_config_layer_loads_neither_asyncssh_nor_the_engine() -> None:
    probe = (
        "import sys, termkeep.config.store, termkeep.config.putty, termkeep.config.themes; "
        "print(sorted(m for m in ('asyncssh', 'evp', 'textual') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
