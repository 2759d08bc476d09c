"""``[user@]host[:port]`` targets, and which profile a target resolves to."""

from __future__ import annotations

from pathlib import Path

import pytest

from termkeep.config.errors import ConfigError
from termkeep.config.profile import Profile
from termkeep.config.store import ProfileStore
from termkeep.transport import quick_connect, ssh_options
from termkeep.transport.quick_connect import HostTarget, TargetError, parse_target, resolve_target


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("box", HostTarget("box")),
        ("alice@box", HostTarget("box", "alice")),
        ("alice@box.example.org:2222", HostTarget("box.example.org", "alice", 2222)),
        ("10.0.0.5:22", HostTarget("10.0.0.5", None, 22)),
        ("root@[::1]:2200", HostTarget("::1", "root", 2200)),
        ("fe80::1", HostTarget("fe80::1")),
        ("me@corp@bastion", HostTarget("bastion", "me@corp")),
    ],
)
def test_targets_are_taken_apart_like_ssh(text: str, target: HostTarget) -> None:
    assert parse_target(text) == target


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("box:0", "port must be a number from 1 to 65535"),
        ("box:70000", "port must be a number from 1 to 65535"),
        ("box:ssh", "port must be a number"),
        ("-oProxyCommand=x", "is not a saved profile, an ssh_config Host"),
        ("two words", "is not a saved profile"),
        ("@box", "'' is not a user name"),
        ("bad user@box", "is not a user name"),
        ("[::1", "write an IPv6 address as [address]:port"),
        ("", "is not a saved profile"),
    ],
)
def test_bad_targets_get_one_line(text: str, problem: str) -> None:
    with pytest.raises(TargetError) as failure:
        parse_target(text)
    assert problem in str(failure.value)
    assert "\n" not in str(failure.value)


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ssh_config"
    path.write_text(text)
    return path


def test_a_saved_profile_wins_then_an_alias_then_a_literal_host(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "hosts")
    config = write_config(
        tmp_path,
        "Host work\n  HostName work.example.org\n  User deploy\n  Port 2201\n"
        "Host saved\n  HostName from-config\n"
        "Host *\n  ServerAliveInterval 7\n",
    )
    store.save(Profile(name="saved", host="from-profile"))

    assert resolve_target(store, "saved", config).host == "from-profile"

    alias = resolve_target(store, "work", config)
    # The host stays the alias: ssh_config is applied again at every connect, exactly as for
    # a saved profile with use_ssh_config (ProxyCommand, HostKeyAlias and all).
    assert (alias.name, alias.host, alias.user, alias.port, alias.use_ssh_config) == (
        "work",
        "work",
        "deploy",
        2201,
        True,
    )
    assert alias.keepalive.interval == 7.0  # Host * applies, as in ssh

    literal = resolve_target(store, "alice@db.example.org:2222", config)
    assert (literal.host, literal.user, literal.port) == ("db.example.org", "alice", 2222)
    assert literal.use_ssh_config
    assert literal.keepalive.interval == 7.0
    assert literal.tmux.enabled


def test_the_target_s_user_and_port_win_over_ssh_config(tmp_path: Path) -> None:
    config = write_config(tmp_path, "Host *.example.org\n  User deploy\n  Port 2201\n")
    store = ProfileStore(tmp_path / "hosts")
    assert resolve_target(store, "db.example.org", config).user == "deploy"
    chosen = resolve_target(store, "root@db.example.org:2200", config)
    assert (chosen.user, chosen.port) == ("root", 2200)


def test_port_22_cannot_override_ssh_config_s_port(tmp_path: Path) -> None:
    # In a profile that uses ssh_config, port 22 means "ssh_config's": refused, not ignored.
    config = write_config(tmp_path, "Host *.example.org\n  Port 2201\n")
    store = ProfileStore(tmp_path / "hosts")
    with pytest.raises(TargetError, match=r"sets Port 2201 for db\.example\.org"):
        resolve_target(store, "db.example.org:22", config)


def test_without_ssh_config_a_literal_host_gets_the_defaults(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "hosts")
    profile = resolve_target(store, "box:2222", tmp_path / "missing")
    assert profile == Profile(name="box:2222", host="box", port=2222)


def test_an_unknown_name_with_no_alias_is_a_one_line_error(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "hosts")
    with pytest.raises(ConfigError, match="is not a saved profile, an ssh_config Host"):
        resolve_target(store, "no such/thing", tmp_path / "missing")


def test_a_proxy_in_the_system_ssh_config_is_not_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ssh reads /etc/ssh/ssh_config after ~/.ssh/config; a proxy set there for everyone must
    # carry a literal host too (here a stand-in file: the real one is not the tests' to edit).
    system = write_config(tmp_path, "Host *.corp\n  ProxyCommand nc -X 5 -x proxy:1080 %h %p\n")
    monkeypatch.setattr(ssh_options, "SYSTEM_SSH_CONFIG", system)
    monkeypatch.setattr(quick_connect, "SYSTEM_SSH_CONFIG", system)
    store = ProfileStore(tmp_path / "hosts")
    proxied = resolve_target(store, "db.corp", tmp_path / "no-user-config")
    assert proxied.use_ssh_config
    assert ssh_options.config_paths(None)[-1] == system
    direct = resolve_target(store, "db.example.org", tmp_path / "no-user-config")
    assert not direct.use_ssh_config
