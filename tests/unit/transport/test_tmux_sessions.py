"""Which tmux sessions count as a profile's, and reading ``tmux list-sessions`` output."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from termkeep.config.profile import Profile, TmuxSettings
from termkeep.transport import tmux
from termkeep.transport.tmux_sessions import (
    LIST_FORMAT,
    RemoteTmuxSession,
    SessionListing,
    claimed_by_others,
    is_no_server,
    is_profile_session,
    parse_session_line,
    profile_session_base,
    profile_sessions,
    unheld,
)

PROFILE = Profile(name="web", host="h")


def session(name: str, created: int = 1_700_000_000) -> RemoteTmuxSession:
    return RemoteTmuxSession(name, datetime.fromtimestamp(created, UTC), 0, 1)


@given(st.text(min_size=1, max_size=80), st.integers(min_value=2, max_value=10_000))
def test_the_base_and_every_numbered_tab_count_whatever_the_name(name: str, n: int) -> None:
    profile = Profile(name="p", host="h", tmux=TmuxSettings(session=name))
    base = tmux.sanitize_session_name(name)
    assert profile_session_base(profile) == base
    assert is_profile_session(profile, base)
    assert is_profile_session(profile, f"{base}-{n}")
    assert not is_profile_session(profile, f"{base}-1")
    assert not is_profile_session(profile, f"{base}-0{n}")
    assert not is_profile_session(profile, f"{base}x")


def test_the_default_name_comes_from_the_profile_name() -> None:
    assert profile_session_base(Profile(name="db.main", host="h")) == "termkeep-db_main"
    assert not is_profile_session(PROFILE, "termkeep-webby")
    assert not is_profile_session(PROFILE, "termkeep-web-")
    assert not is_profile_session(PROFILE, "termkeep-web-2-2")


def test_list_lines_parse_from_the_right() -> None:
    assert "|" in LIST_FORMAT
    parsed = parse_session_line("odd|name|1700000000|2|3")
    assert parsed == RemoteTmuxSession("odd|name", datetime.fromtimestamp(1700000000, UTC), 2, 3)
    assert parse_session_line("no fields") is None
    assert parse_session_line("name|x|0|1") is None


def test_profile_sessions_keeps_ours_oldest_first_then_by_tab_number() -> None:
    output = "\n".join(
        (
            "termkeep-web-10|1700000000|0|1",
            "termkeep-web-2|1700000000|1|1",
            "termkeep-web|1700000005|0|1",
            "termkeep-db|1600000000|0|1",
            "garbage",
        )
    )
    names = [s.name for s in profile_sessions(PROFILE, output)]
    assert names == ["termkeep-web-2", "termkeep-web-10", "termkeep-web"]


def test_unheld_drops_the_sessions_tabs_hold_named_before_or_after_sanitising() -> None:
    listing = SessionListing((session("a_b"), session("a_b-2"), session("a_b-3")))
    assert [s.name for s in unheld(listing, ["a.b", None, "a_b-3"])] == ["a_b-2"]


def test_no_server_is_recognised_by_tmux_words_and_status() -> None:
    assert is_no_server(1, "no server running on /tmp/tmux-0/default\n")
    assert is_no_server(1, "error connecting to /tmp/tmux-0/default (No such file or directory)")
    assert not is_no_server(1, "some other failure")
    assert not is_no_server(0, "no server running")


def test_a_name_another_profile_on_the_same_login_starts_from_is_left_to_it() -> None:
    saved = [
        PROFILE,
        Profile(name="web-2", host="h"),  # same login: claims termkeep-web-2
        Profile(name="web-3", host="elsewhere"),  # another host: claims nothing here
        Profile(name="web-4", host="h", user="bob"),  # another user, another tmux server
        Profile(name="web-5", host="h", tmux=TmuxSettings(session="termkeep-web-6")),
    ]
    claimed = claimed_by_others(PROFILE, saved)
    assert claimed == {"termkeep-web-2", "termkeep-web-6"}
    output = "\n".join(f"termkeep-web-{n}|1700000000|0|1" for n in (2, 3, 4, 6))
    names = [s.name for s in profile_sessions(PROFILE, output, claimed)]
    assert names == ["termkeep-web-3", "termkeep-web-4"]
