"""Every profile key has a label, a help line and a group; unset values say where they come from."""

from __future__ import annotations

import dataclasses
from pathlib import PurePosixPath

import pytest

from termkeep.config.fields import (
    FIELDS,
    GROUP_OF,
    GROUPS,
    applied,
    missing_fields,
    profile_keys,
)
from termkeep.config.profile import Profile
from termkeep.config.schema import KEYS
from termkeep.config.settings import Predict, Settings
from termkeep.transport.hostkeys import DEFAULT_GLOBAL_KNOWN_HOSTS, DEFAULT_USER_KNOWN_HOSTS
from termkeep.transport.ssh.auth import DEFAULT_KEY_FILES

ISSUE_GROUPS = (
    "Session",
    "Authentication",
    "Keepalive and TCP",
    "Reconnect",
    "tmux",
    "Tunnels",
    "Terminal",
)


def test_every_profile_field_has_an_editor_entry() -> None:
    """Adding a Profile field (hence a file key) without a label and group fails here."""
    assert missing_fields() == []
    assert set(FIELDS) == {"name", *KEYS}


def test_a_key_without_an_entry_is_reported() -> None:
    assert missing_fields(["port", "tcp.brand_new"]) == ["tcp.brand_new"]


def test_each_key_is_shown_once_in_one_group() -> None:
    shown = [info.key for group in GROUPS for info in group.fields]
    assert sorted(shown) == sorted(profile_keys())


def test_the_groups_the_issue_asks_for_are_there() -> None:
    titles = [group.title for group in GROUPS]
    assert all(title in titles for title in ISSUE_GROUPS)


@pytest.mark.parametrize("key", sorted(FIELDS))
def test_labels_are_words_not_key_names(key: str) -> None:
    info = FIELDS[key]
    leaf = key.rpartition(".")[2]
    assert info.label
    assert info.help
    assert "_" not in info.label.replace("known_hosts", "")
    assert "." not in info.label.replace("~/.ssh", "")
    if "_" in key or "." in key:  # a one-word key ("host", "theme") is also a plain word
        assert key not in info.label
        assert "_" not in leaf or leaf not in info.label


def test_unset_values_say_what_applies_and_where_from() -> None:
    profile = Profile(name="web", host="h")
    settings = Settings()
    assert applied("keepalive.interval", profile, settings) == "5 (default)"
    assert applied("tcp.keepalive", profile, settings) == "on (default)"
    assert applied("predict", profile, settings) == "adaptive (default)"
    assert applied("tmux.session", profile, settings) == "termkeep-web (from the profile name)"
    changed = dataclasses.replace(settings, predict=Predict.ALWAYS, log_path="x/&H.log")
    assert applied("predict", profile, changed) == "always (from settings.toml)"
    assert applied("log_path", profile, changed) == "x/&H.log (from settings.toml)"


def test_ssh_config_decides_what_the_profile_leaves_unset() -> None:
    plain = Profile(name="web", host="h")
    with_config = dataclasses.replace(plain, use_ssh_config=True)
    assert applied("jump", plain, Settings()) == "none (default)"
    assert applied("jump", with_config, Settings()) == "from ~/.ssh/config, else none"


def test_known_hosts_defaults_name_the_files_ssh_reads() -> None:
    profile = Profile(name="web", host="h")
    user = applied("user_known_hosts_files", profile, Settings())
    system = applied("global_known_hosts_files", profile, Settings())
    # Written short ("~/.ssh/known_hosts, known_hosts2"): the first path whole, then names.
    for text, paths in ((user, DEFAULT_USER_KNOWN_HOSTS), (system, DEFAULT_GLOBAL_KNOWN_HOSTS)):
        assert text.startswith(paths[0])
        assert all(PurePosixPath(path).name in text for path in paths)
        assert all(PurePosixPath(path).parent == PurePosixPath(paths[0]).parent for path in paths)


def test_the_default_key_files_are_the_ones_ssh_offers() -> None:
    text = applied("identity_files", Profile(name="web", host="h"), Settings())
    assert "~/.ssh/id_*" in text
    assert all(name.startswith("id_") for name in DEFAULT_KEY_FILES)


def test_agent_forwarding_is_off_unless_ssh_config_forwards_it() -> None:
    plain = Profile(name="web", host="h")
    with_config = dataclasses.replace(plain, use_ssh_config=True)
    assert applied("agent_forwarding", plain, Settings()) == "off (default)"
    assert applied("agent_forwarding", with_config, Settings()) == "from ~/.ssh/config, else off"
    socket = applied("agent_forwarding_socket", plain, Settings())
    assert "$SSH_AUTH_SOCK" in socket
    assert GROUP_OF["agent_forwarding"].title == GROUP_OF["agent_forwarding_socket"].title
