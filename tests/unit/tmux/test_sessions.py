"""Which tmux sessions count as a profile's, and reading ``tmux list-sessions`` output."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from termkeep.config.profile import (
    Profile,
    TmuxSettings,
    default_tmux_session,
    validate_profile_name,
)
from termkeep.tmux.names import (
    SESSION_NAME_MAX,
    adoptable_legacy_base,
    claimed_by_others,
    is_profile_session,
    legacy_session_base,
    profile_session_base,
    sanitize_session_name,
)
from termkeep.tmux.sessions import (
    LIST_FORMAT,
    RemoteTmuxSession,
    SessionListing,
    is_no_server,
    parse_session_line,
    profile_sessions,
    unheld,
)

PROFILE = Profile(name="web", host="h")


def session(name: str, created: int = 1_700_000_000) -> RemoteTmuxSession:
    return RemoteTmuxSession(name, datetime.fromtimestamp(created, UTC), 0, 1)


@given(st.text(min_size=1, max_size=80), st.integers(min_value=2, max_value=10_000))
def test_the_base_and_every_numbered_tab_count_whatever_the_name(name: str, n: int) -> None:
    profile = Profile(name="p", host="h", tmux=TmuxSettings(session=name))
    base = sanitize_session_name(name)
    assert profile_session_base(profile) == base
    assert is_profile_session(profile, base)
    assert is_profile_session(profile, f"{base}-{n}")
    assert not is_profile_session(profile, f"{base}-1")
    assert not is_profile_session(profile, f"{base}-0{n}")
    assert not is_profile_session(profile, f"{base}x")


def test_the_default_name_comes_from_the_profile_name() -> None:
    assert profile_session_base(Profile(name="db.main", host="h")) == "termkeep_db_main"
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


# --- distinct default names -----------------------------------------------------------------

PROFILE_NAMES = st.text(min_size=1, max_size=64).filter(
    lambda name: not name.startswith(".") and ".." not in name and "/" not in name
)


def _valid(name: str) -> bool:
    try:
        validate_profile_name(name)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("profile_name", "session_name"),
    [
        ("web", "termkeep-web"),
        ("a_b", "termkeep-a_b"),
        ("web-1", "termkeep-web-1"),
        ("a.b", "termkeep_a_b"),
        ("web.example.org", "termkeep_web_example_org"),
        ("db-1.example.org", "termkeep_db-1_example_org"),
        ("a:b", "termkeep__a_3a_b"),
        ("a_b.c", "termkeep__a_5f_b_2e_c"),
        ("my server", "termkeep__my_20_server"),
        ("alice@box", "termkeep__alice_40_box"),
        ("ünï", "termkeep___fc_n_ef_"),
    ],
)
def test_default_names_by_example(profile_name: str, session_name: str) -> None:
    assert default_tmux_session(profile_name) == session_name


def test_a_dot_b_a_underscore_b_and_a_colon_b_get_three_sessions() -> None:
    names = {default_tmux_session(name) for name in ("a.b", "a_b", "a:b", "a b", "a-b")}
    assert len(names) == 5


@given(st.lists(PROFILE_NAMES, min_size=2, max_size=6, unique=True))
def test_distinct_profile_names_never_share_a_session(names: list[str]) -> None:
    names = [name for name in names if _valid(name)]
    sessions = [default_tmux_session(name) for name in names]
    assert len(set(sessions)) == len(names)


@given(PROFILE_NAMES)
def test_a_default_name_is_one_tmux_and_every_shell_keep_as_is(name: str) -> None:
    session_name = default_tmux_session(name)
    assert re.fullmatch(r"termkeep[-_][A-Za-z0-9_-]*", session_name)
    # No rewriting (tmux's or termkeep's) and no cut, even for the longest names.
    assert sanitize_session_name(session_name) == session_name
    assert len(f"{session_name}-99") <= SESSION_NAME_MAX
    assert _read_back(session_name) == name


def _read_back(session_name: str) -> str:
    """The profile name, read back from its default session name (the proof of
    injectivity that the test above checks)."""
    rest = session_name.removeprefix("termkeep")
    if rest.startswith("-"):
        return rest[1:]
    if not rest.startswith("__"):
        return rest[1:].replace("_", ".")
    return re.sub(r"_([0-9a-f]+)_", lambda m: chr(int(m.group(1), 16)), rest[2:])


def test_the_old_name_is_known_only_where_it_differs() -> None:
    assert legacy_session_base(Profile(name="a.b", host="h")) == "termkeep-a_b"
    assert legacy_session_base(Profile(name="a:b", host="h")) == "termkeep-a_b"
    assert legacy_session_base(Profile(name="a_b", host="h")) is None  # unchanged
    named = Profile(name="a.b", host="h", tmux=TmuxSettings(session="mine"))
    assert legacy_session_base(named) is None  # the user's own name never changed


def test_an_old_session_goes_to_the_profile_that_had_exactly_its_name() -> None:
    dotted, plain, colon = (Profile(name=n, host="h") for n in ("a.b", "a_b", "a:b"))
    elsewhere = Profile(name="a_b", host="other")
    assert adoptable_legacy_base(dotted, [dotted]) == "termkeep-a_b"
    assert adoptable_legacy_base(dotted, [dotted, elsewhere]) == "termkeep-a_b"  # other host
    assert adoptable_legacy_base(dotted, [dotted, plain]) is None  # a_b keeps it
    assert adoptable_legacy_base(dotted, [dotted, colon]) is None  # two rewritten: nobody
    assert adoptable_legacy_base(plain, [dotted, plain]) is None  # its name never changed
    own = Profile(name="x", host="h", tmux=TmuxSettings(session="termkeep-a_b"))
    assert adoptable_legacy_base(dotted, [dotted, own]) is None  # set by hand elsewhere


def test_old_names_count_as_the_profiles_sessions_when_given() -> None:
    dotted = Profile(name="a.b", host="h")
    output = "\n".join(
        f"{name}|1700000000|0|1"
        for name in ("termkeep_a_b", "termkeep-a_b", "termkeep-a_b-2", "termkeep-a_bc")
    )
    names = [s.name for s in profile_sessions(dotted, output)]
    assert names == ["termkeep_a_b"]
    with_old = [s.name for s in profile_sessions(dotted, output, legacy="termkeep-a_b")]
    assert with_old == ["termkeep_a_b", "termkeep-a_b", "termkeep-a_b-2"]


def test_tab_labels_follow_the_tmux_session() -> None:
    from termkeep.config.profile import Profile, TmuxSettings  # noqa: PLC0415
    from termkeep.tmux.names import legacy_session_base, profile_session_base, tab_label  # noqa: PLC0415

    web = Profile(name="web.x", host="192.0.2.1")
    base = profile_session_base(web)
    assert tab_label(web, base) == "web.x"
    assert tab_label(web, f"{base}-2") == "web.x 2"
    assert tab_label(web, f"{base}-12") == "web.x 12"
    assert tab_label(web, f"{base}-1") == "web.x"  # not a name termkeep gives a tab
    assert tab_label(web, "work") == "web.x"
    legacy = legacy_session_base(web)
    assert legacy is not None
    assert tab_label(web, f"{legacy}-3", legacy) == "web.x 3"
    own = Profile(name="db", host="192.0.2.2", tmux=TmuxSettings(session="main"))
    assert tab_label(own, "main-3") == "db 3"
