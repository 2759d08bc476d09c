"""The strict profile file format: what is accepted, and how errors point at the problem."""

from __future__ import annotations

import tomllib

import pytest

from termkeep.config.errors import ProfileLoadError
from termkeep.config.profile import Profile
from termkeep.config.schema import (
    KEYS,
    SECTIONS,
    check_profile,
    key_line_finder,
    mapping_problems,
    profile_from_mapping,
    value_problem,
)


def parse(text: str, name: str = "web") -> Profile:
    """Parse a profile file's text as the store does."""
    return profile_from_mapping(name, tomllib.loads(text), f"{name}.toml", key_line_finder(text))


def issues_of(text: str) -> list[str]:
    with pytest.raises(ProfileLoadError) as caught:
        parse(text)
    return [str(issue) for issue in caught.value.issues]


def test_every_profile_field_except_the_name_is_a_key() -> None:
    nested = {f"{section}.{leaf}" for section in SECTIONS for leaf in _fields(section)}
    top = {name for name in Profile.__dataclass_fields__ if name not in {"name", *SECTIONS}}
    assert set(KEYS) == top | nested


def _fields(section: str) -> list[str]:
    default = Profile(name="x", host="x")
    return list(type(getattr(default, section)).__dataclass_fields__)


def test_minimal_file_gives_the_defaults() -> None:
    assert parse('host = "example.org"\n') == Profile(name="web", host="example.org")


def test_full_file_sets_every_section() -> None:
    profile = parse(
        """
        host = "example.org"
        port = 2222
        user = "alice"
        identity_files = ["~/.ssh/id_ed25519", "~/.ssh/id_rsa"]
        jump = "bastion"
        port_forwardings = ["L8080=localhost:80"]

        [keepalive]
        interval = 10      # an integer is fine where a number is expected
        count_max = 5

        [tcp]
        keepalive = false
        user_timeout = 0

        [reconnect]
        max_delay = 60.5

        [tmux]
        session = "work"
        """
    )
    assert profile.port == 2222
    assert profile.identity_files == ("~/.ssh/id_ed25519", "~/.ssh/id_rsa")
    # An old file's PuTTY-notation port_forwardings still loads, as structured forwards.
    assert [forward.flag for forward in profile.forwards] == ["-L 8080:localhost:80"]
    assert profile.keepalive.interval == 10.0
    assert isinstance(profile.keepalive.interval, float)
    assert profile.keepalive.count_max == 5
    assert profile.tcp.keepalive is False
    assert profile.tcp.user_timeout == 0
    assert profile.reconnect.max_delay == 60.5
    assert profile.tmux_session_name == "work"


def test_unknown_key_names_line_and_suggests_the_right_key() -> None:
    text = 'host = "a"\n\n[keepalive]\n# comment\nintervall = 3\n'
    assert issues_of(text) == [
        "web.toml:5: unknown key 'keepalive.intervall'; did you mean 'keepalive.interval'?"
    ]


def test_unknown_section_is_suggested_too() -> None:
    assert issues_of('host = "a"\n[tmuxx]\nsession = "s"\n') == [
        "web.toml:2: unknown key 'tmuxx'; did you mean 'tmux'?"
    ]


def test_key_in_the_wrong_table_points_to_where_it_belongs() -> None:
    (issue,) = issues_of('host = "a"\ncount_max = 3\n')
    assert issue == "web.toml:2: unknown key 'count_max'; did you mean 'keepalive.count_max'?"


def test_unknown_key_without_a_close_match_lists_the_valid_ones() -> None:
    (issue,) = issues_of('host = "a"\n[tmux]\nzzz = 1\n')
    assert issue == "web.toml:3: unknown key 'tmux.zzz'; valid keys here: enabled, session"


def test_name_key_explains_that_the_file_name_is_the_name() -> None:
    (issue,) = issues_of('name = "web"\nhost = "a"\n')
    assert issue.startswith("web.toml:1: 'name' is not a key: a profile's name is its file name")


def test_unknown_key_in_an_inline_table_points_at_the_table_line() -> None:
    (issue,) = issues_of('host = "a"\nkeepalive = { interval = 3, cuont_max = 2 }\n')
    assert issue.startswith("web.toml:2: unknown key 'keepalive.cuont_max'")


def test_all_problems_of_a_file_are_reported_in_line_order() -> None:
    text = 'host = "a"\nport = "22"\nuser = 7\n[tcp]\nkeepalive = 1\ncount = 500\n'
    assert issues_of(text) == [
        "web.toml:2: 'port' must be an integer, not the string '22'",
        "web.toml:3: 'user' must be a string, not 7",
        "web.toml:5: 'tcp.keepalive' must be true or false, not 1",
        "web.toml:6: 'tcp.count' must be from 1 to 127",
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("port = 0", "'port' must be from 1 to 65535"),
        ("port = 70000", "'port' must be from 1 to 65535"),
        ("port = true", "'port' must be an integer, not true"),
        ("port = 22.5", "'port' must be an integer, not 22.5"),
        ('host = ""', "'host' must not be empty"),
        ('host = "two words"', "'host' must not contain spaces"),
        ('user = "a\\u0007b"', "'user' must not contain control characters"),
        ('identity_files = "~/.ssh/id"', "'identity_files' must be a list of strings"),
        ("identity_files = [1]", "'identity_files' must be a list of strings, not a list"),
        ("keepalive = 5", "'keepalive' must be a table ([keepalive]), not 5"),
        ('predict = "sometimes"', '\'predict\' must be "adaptive" or "always" or "never"'),
        ("predict = true", "'predict' must be a string, not true"),
        ('log = "keys"', '\'log\' must be "off" or "output" or "raw"'),
        ('paste_confirm = "always"', '\'paste_confirm\' must be "multiline" or "never"'),
        ('notify = "yes"', '\'notify\' must be "off" or "bell" or "done" or "all"'),
    ],
)
def test_wrong_values_are_refused(line: str, expected: str) -> None:
    text = f'host = "a"\n{line}\n' if not line.startswith("host") else f"{line}\n"
    (issue,) = issues_of(text)
    assert expected in issue


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("keepalive.interval", 0, True),  # 0 turns SSH keepalive off
        ("keepalive.interval", -1, False),
        ("keepalive.interval", float("nan"), False),
        ("keepalive.count_max", 0, False),
        ("tcp.idle", 32767, True),
        ("tcp.idle", 32768, False),
        ("reconnect.connect_timeout", 0, False),
        ("reconnect.jitter", 1.0, True),
        ("reconnect.jitter", 1.5, False),
        ("reconnect.multiplier", 0.5, False),
        ("tmux.session", "a b", False),
        ("tmux.session", "work", True),
        ("predict", "never", True),
        ("predict", "Never", False),
        ("paste_confirm", "never", True),
        ("paste_confirm", "multiline", True),
        ("paste_confirm", "ask", False),
        ("notify", "done", True),
        ("notify", "always", False),
        ("log", "raw", True),
        ("log", "all", False),
        ("log_path", "~/logs/&H &Y&M&D.log", True),
    ],
)
def test_ranges(key: str, value: object, ok: bool) -> None:
    assert (value_problem(key, value) is None) is ok


def test_max_delay_below_initial_delay_is_refused() -> None:
    (issue,) = issues_of('host = "a"\n[reconnect]\ninitial_delay = 10\nmax_delay = 5\n')
    assert "'reconnect.max_delay' (5) must not be below 'reconnect.initial_delay' (10)" in issue
    assert issue.startswith("web.toml:4:")


def test_missing_host_is_an_error_with_an_example() -> None:
    assert issues_of("port = 22\n") == [
        "web.toml: 'host' is missing; add e.g. host = \"example.org\""
    ]


def test_check_profile_applies_the_file_rules_to_code_built_profiles() -> None:
    good = Profile(name="web", host="example.org", identity_files=("~/.ssh/id",))
    assert check_profile(good, "test") == good
    with pytest.raises(ProfileLoadError, match="'port' must be from 1 to 65535"):
        check_profile(Profile(name="web", host="example.org", port=0), "test")


def test_problems_are_given_by_key_with_the_files_messages() -> None:
    data = {"port": 0, "keepalive": {"count_max": "x"}, "tcp": {"idel": 3}}
    problems = mapping_problems(data)
    assert ("port", "'port' must be from 1 to 65535") in problems
    assert (
        "keepalive.count_max",
        "'keepalive.count_max' must be an integer, not the string 'x'",
    ) in problems
    assert ("tcp.idel", "unknown key 'tcp.idel'; did you mean 'tcp.idle'?") in problems
    assert ("host", "'host' is missing; add e.g. host = \"example.org\"") in problems
    with pytest.raises(ProfileLoadError) as caught:
        profile_from_mapping("web", data, "web.toml")
    assert sorted(issue.message for issue in caught.value.issues) == sorted(
        message for _key, message in problems
    )
