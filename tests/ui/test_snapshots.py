"""SVG snapshots: tab markers, the status line per state, the picker, prompts, every theme.

Sizes are fixed and every status value is scripted (no clock), so the pictures are stable.
Regenerate after an intended change with ``pytest tests/ui/test_snapshots.py
--snapshot-update`` and review the SVGs before committing them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot

from termkeep import paths
from termkeep.config.profile import Profile
from termkeep.config.store import ProfileStore
from termkeep.supervisor.phase import Phase
from termkeep.transport.prompts import Prompter
from termkeep.ui.app import TermkeepApp
from termkeep.ui.screens.prompts import AppPrompter
from tests.ui.fakes import RecordingApp
from tests.ui.test_connection_history_view import scripted_history

type SnapCompare = Callable[..., bool]
PREFIX = "ctrl+backslash"
FINGERPRINT = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"

STATUS_BY_STATE: dict[Phase, dict[str, Any]] = {
    Phase.CONNECTING: {},
    Phase.ATTACHED: {"last_contact_age": 0.4, "rtt": 0.012},  # age left off: too fresh
    Phase.STALLED: {"cause": "no reply", "last_contact_age": 6.2, "rtt": 0.012, "held": 4},
    Phase.RECONNECTING: {
        "cause": "connection reset",
        "attempt": 3,
        "retry_in": 1.5,
        "held": 12,
    },
    Phase.NEEDS_USER: {"cause": "authentication failed"},
    Phase.DETACHED: {},
    Phase.ENDED: {},
    Phase.FAILED: {"cause": "host key changed"},
}


@pytest.fixture
def many_hosts(store: ProfileStore) -> ProfileStore:
    """One saved host per state, named after it."""
    for state in STATUS_BY_STATE:
        store.save(Profile(name=state.value, host=f"{state.value}.example", user="alice"))
    return store


def open_tabs(app: RecordingApp, states: list[Phase]) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        for state in states:
            await app.open_profile(state.value)
            app.sessions[state.value].set(state=state, **STATUS_BY_STATE[state])
        await pilot.pause()

    return run_before


def test_tab_bar_shows_every_state_marker(
    snap_compare: SnapCompare, many_hosts: ProfileStore
) -> None:
    app = RecordingApp(many_hosts)
    states = list(STATUS_BY_STATE)
    assert snap_compare(app, terminal_size=(130, 12), run_before=open_tabs(app, states))


@pytest.mark.parametrize("state", list(STATUS_BY_STATE), ids=lambda state: state.value)
def test_status_line(snap_compare: SnapCompare, many_hosts: ProfileStore, state: Phase) -> None:
    app = RecordingApp(many_hosts)
    assert snap_compare(app, terminal_size=(100, 8), run_before=open_tabs(app, [state]))


def test_picker_filtered(snap_compare: SnapCompare, store: ProfileStore) -> None:
    app = RecordingApp(store)
    assert snap_compare(app, press=[PREFIX, "c", "w", "e", "b"], terminal_size=(100, 24))


def test_help_overlay(snap_compare: SnapCompare, store: ProfileStore) -> None:
    app = RecordingApp(store)
    assert snap_compare(app, press=[PREFIX, "question_mark"], terminal_size=(100, 48))


def test_prefix_armed_indicator(snap_compare: SnapCompare, store: ProfileStore) -> None:
    app = RecordingApp(store)
    assert snap_compare(app, press=[PREFIX], terminal_size=(100, 8))


def test_profile_manager(snap_compare: SnapCompare, store: ProfileStore) -> None:
    app = RecordingApp(store)
    assert snap_compare(app, press=[PREFIX, "m"], terminal_size=(120, 40))


class PromptApp(App[None]):
    """Shows one prompt over an empty screen, with termkeep's stylesheet."""

    CSS_PATH = TermkeepApp.CSS_PATH

    def __init__(self, question: Callable[[Prompter], Awaitable[object]]) -> None:
        super().__init__()
        self.question = question

    def on_mount(self) -> None:
        self.run_worker(self.question(AppPrompter(self)))


PROMPTS: dict[str, Callable[[Prompter], Awaitable[object]]] = {
    "password": lambda p: p.password("alice@web-1's password:"),
    "passphrase": lambda p: p.passphrase("/home/alice/.ssh/id_ed25519"),
    "keyboard_interactive": lambda p: p.keyboard_interactive(
        "Two-factor login", "Enter the code from your phone.", [("Code: ", False)]
    ),
    "unknown_host_key": lambda p: p.unknown_host_key("web-1", 2222, "ssh-ed25519", FINGERPRINT),
    "changed_host_key": lambda p: p.changed_host_key(
        "The ssh-ed25519 host key of web-1 (10.0.0.1) has changed since it was saved in "
        "/home/alice/.ssh/known_hosts line 12. Someone could be intercepting the connection."
    ),
}


@pytest.mark.parametrize("kind", list(PROMPTS))
def test_prompt(snap_compare: SnapCompare, kind: str) -> None:
    press = ["s", "e", "c"] if kind in {"password", "passphrase", "keyboard_interactive"} else []
    assert snap_compare(PromptApp(PROMPTS[kind]), press=press, terminal_size=(100, 26))


BUILTIN_THEMES = sorted(path.stem for path in paths.builtin_themes_dir().glob("*.toml"))


@pytest.mark.parametrize("theme", BUILTIN_THEMES)
def test_theme(snap_compare: SnapCompare, many_hosts: ProfileStore, theme: str) -> None:
    app = RecordingApp(many_hosts)

    async def run_before(pilot: Pilot[None]) -> None:
        await open_tabs(app, [Phase.RECONNECTING, Phase.ATTACHED])(pilot)
        app.apply_theme(theme)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 12), run_before=run_before)


def test_connection_history(
    snap_compare: SnapCompare, store: ProfileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Drop times are shown in local time: fix the zone so the picture is the same anywhere.
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    app = RecordingApp(store)

    async def run_before(pilot: Pilot[None]) -> None:
        await app.open_profile("web-1")
        app.sessions["web-1"].history = scripted_history("web-1")
        await pilot.press(PREFIX, "i")
        await pilot.pause()

    try:
        assert snap_compare(app, terminal_size=(120, 30), run_before=run_before)
    finally:
        monkeypatch.undo()
        time.tzset()
