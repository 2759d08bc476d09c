"""The prefix router and the status wording, as plain logic (no screen)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from termkeep.config.settings import Settings, settings_from_mapping
from termkeep.supervisor.phase import Phase
from termkeep.terminal.durations import STATUS, duration_text
from termkeep.ui.bindings import (
    Outcome,
    PrefixRouter,
    is_modifier_only,
    key_label,
    shift_twin,
)
from termkeep.ui.session_api import StatusSnapshot
from termkeep.ui.widgets.status_line import status_parts

PREFIX = "ctrl+backslash"
ORDINARY_KEYS = st.sampled_from(
    ["a", "Z", "1", "enter", "tab", "escape", "ctrl+b", "ctrl+a", "up", "f1", "question_mark"]
)


@given(st.lists(ORDINARY_KEYS, max_size=50))
def test_without_the_prefix_every_key_goes_to_the_remote(keys: list[str]) -> None:
    router = PrefixRouter(Settings())
    outcomes = [router.route(key).outcome for key in keys]
    assert outcomes == [Outcome.FORWARD] * len(keys)


@given(st.lists(st.one_of(ORDINARY_KEYS, st.just(PREFIX)), max_size=50))
def test_the_router_is_never_left_armed_by_a_non_modifier_key(keys: list[str]) -> None:
    router = PrefixRouter(Settings())
    for key in keys:
        routed = router.route(key)
        assert router.armed == (routed.outcome is Outcome.ARMED)


@pytest.mark.parametrize(
    ("second", "outcome", "action"),
    [
        ("c", Outcome.ACTION, "tab.new"),
        ("question_mark", Outcome.ACTION, "help"),
        ("5", Outcome.ACTION, "tab.goto.5"),
        (PREFIX, Outcome.FORWARD, None),
        ("escape", Outcome.CANCELLED, None),
        ("z", Outcome.UNBOUND, None),
        ("shift", Outcome.IGNORED, None),
    ],
)
def test_the_key_after_the_prefix(second: str, outcome: Outcome, action: str | None) -> None:
    router = PrefixRouter(Settings())
    assert router.route(PREFIX).outcome is Outcome.ARMED
    routed = router.route(second)
    assert (routed.outcome, routed.action) == (outcome, action)
    assert router.armed == (outcome is Outcome.IGNORED)


def test_modifier_order_and_aliases_match_the_keymap() -> None:
    settings = settings_from_mapping(
        {"prefix": "ctrl+shift+a", "keys": {"help": "tab"}}, Path("settings.toml")
    )
    router = PrefixRouter(settings)
    assert router.route("shift+ctrl+a").outcome is Outcome.ARMED
    routed = router.route("ctrl+i", aliases=["tab"])  # a legacy terminal's tab
    assert routed.action == "help"


def test_escape_can_be_an_action_key_when_bound() -> None:
    settings = settings_from_mapping({"keys": {"help": "escape"}}, Path("settings.toml"))
    router = PrefixRouter(settings)
    router.route(PREFIX)
    assert router.route("escape").action == "help"


def test_modifier_only_keys() -> None:
    assert is_modifier_only("left_shift")
    assert is_modifier_only("right_control")
    assert not is_modifier_only("ctrl+s")
    assert not is_modifier_only("s")


@pytest.mark.parametrize(
    ("key", "label"),
    [("ctrl+backslash", "ctrl+\\"), ("question_mark", "?"), ("comma", ","), ("f12", "f12")],
)
def test_key_labels(key: str, label: str) -> None:
    assert key_label(key) == label


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.42, "0.4 s"), (12.4, "12 s"), (300, "5 min"), (18000, "5 h")]
)
def test_durations(seconds: float, text: str) -> None:
    assert duration_text(seconds, STATUS) == text


def test_status_words_per_state() -> None:
    base = StatusSnapshot(state=Phase.ATTACHED, destination="alice@web-1")
    assert status_parts(base) == ["alice@web-1", "attached"]
    reconnecting = StatusSnapshot(
        state=Phase.RECONNECTING,
        destination="alice@web-1",
        cause="connection reset",
        last_contact_age=65,
        attempt=2,
        retry_in=0.5,
        held=1,
    )
    assert status_parts(reconnecting) == [
        "alice@web-1",
        "reconnecting: connection reset",
        "last contact 65 s ago",
        "attempt 2, next try in 0.5 s",
        "1 byte held",
    ]
    fresh = StatusSnapshot(
        state=Phase.ATTACHED, destination="web-1", last_contact_age=0.4, rtt=0.012
    )
    assert status_parts(fresh) == ["web-1", "attached", "rtt 12 ms"]  # a healthy tab stays still
    quiet = StatusSnapshot(state=Phase.ATTACHED, destination="web-1", last_contact_age=7)
    assert status_parts(quiet) == ["web-1", "attached", "last contact 7.0 s ago"]
    detached = StatusSnapshot(state=Phase.DETACHED, destination="web-1")
    assert "kept on the server" in status_parts(detached)[1]


@pytest.mark.parametrize(
    ("key", "twin"),
    [("B", "shift+b"), ("shift+b", "B"), ("b", None), ("shift+1", None), ("ctrl+shift+b", None)],
)
def test_a_shifted_letter_has_two_names(key: str, twin: str | None) -> None:
    assert shift_twin(key) == twin


@pytest.mark.parametrize("bound", ["B", "shift+b"])
@pytest.mark.parametrize("pressed", ["B", "shift+b"])
def test_a_shifted_letter_runs_its_action_by_either_name(bound: str, pressed: str) -> None:
    settings = settings_from_mapping({"keys": {"broadcast.off": bound}}, Path("settings.toml"))
    router = PrefixRouter(settings)
    router.route(PREFIX)
    routed = router.route(pressed)
    assert (routed.outcome, routed.action) == (Outcome.ACTION, "broadcast.off")
